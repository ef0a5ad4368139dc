//! `ApiRoute`: an API Gateway HTTP API whose route (`POST /slack/events` by default) reaches a
//! Lambda alias through a proxy integration (payload 2.0), an auto-deployed stage, and the
//! `lambda:AddPermission` statement that lets API Gateway invoke the alias (and only from this
//! API's route). This is Slack's door to the ingress function.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRouteSpec {
    /// The HTTP API's name (unique among the account's APIs, as far as this kind is concerned).
    pub name: String,
    /// A `Lambda` of the file.
    pub function: String,
    /// The function's alias the route invokes (the `Lambda`'s `alias`).
    #[serde(default = "default_alias")]
    pub alias: String,
    #[serde(default = "default_route")]
    pub route: String,
    #[serde(default = "default_stage")]
    pub stage: String,
}

fn default_alias() -> String {
    "live".into()
}
fn default_route() -> String {
    "POST /slack/events".into()
}
fn default_stage() -> String {
    "$default".into()
}

impl ApiRouteSpec {
    /// The invoke permission's statement id: one per API, so two APIs on one alias do not clash.
    pub fn statement_id(&self) -> String {
        format!("pulse-apigw-{}", self.name)
    }

    /// `arn:…:execute-api:<region>:<account>:<api id>/*/<METHOD>/<path>`: only this route.
    fn source_arn(&self, cx: &Context, api_id: &str) -> String {
        let (method, path) = self.route.split_once(' ').unwrap_or(("*", self.route.as_str()));
        format!("arn:{}:execute-api:{}:{}:{api_id}/*/{method}{path}", cx.partition, cx.region, cx.account_id)
    }
}

#[async_trait]
impl Resource for ApiRouteSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::ApiRoute, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        vec![ResourceId::new(Kind::Lambda, &self.function)]
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("API", &self.name, 1..=128, |c| c.is_ascii_graphic(), "printable ASCII")?;
        let ok = self
            .route
            .split_once(' ')
            .is_some_and(|(m, p)| ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"].contains(&m) && p.starts_with('/'));
        if !ok {
            return Err(format!("route {:?} must be `METHOD /path`, e.g. `POST /slack/events`", self.route));
        }
        Ok(())
    }

    fn desired(&self, cx: &Context) -> Properties {
        Properties::from([
            ("IntegrationUri".to_owned(), json!(cx.lambda_arn(&self.function, Some(&self.alias)))),
            ("PayloadFormatVersion".to_owned(), json!("2.0")),
            ("Route".to_owned(), json!(self.route)),
            ("Stage".to_owned(), json!(self.stage)),
            ("InvokePermission".to_owned(), json!({"Sid": self.statement_id(), "Principal": "apigateway.amazonaws.com"})),
        ])
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let Some((api_id, endpoint)) = find_api(clients, &id, &self.name).await? else {
            return Ok(None);
        };
        let mut p = Properties::new();
        p.insert("ApiId".into(), json!(api_id));
        p.insert("ApiEndpoint".into(), json!(endpoint));
        let routes =
            clients.apigateway.get_routes().api_id(&api_id).send().await.map_err(|e| Error::aws(&id, "apigateway:GetRoutes", e))?;
        let route = routes.items().iter().find(|r| r.route_key() == Some(self.route.as_str()));
        let target = route.and_then(|r| r.target()).and_then(|t| t.strip_prefix("integrations/")).map(str::to_owned);
        if let Some(r) = route {
            p.insert("Route".into(), json!(r.route_key()));
            p.insert("RouteId".into(), json!(r.route_id()));
        }
        let integrations = clients
            .apigateway
            .get_integrations()
            .api_id(&api_id)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "apigateway:GetIntegrations", e))?;
        // The route's integration, or (no route yet) the first one, to reuse it.
        let integration = integrations
            .items()
            .iter()
            .find(|i| target.is_some() && i.integration_id() == target.as_deref())
            .or_else(|| integrations.items().first());
        if let Some(i) = integration {
            p.insert("IntegrationId".into(), json!(i.integration_id()));
            p.insert("IntegrationUri".into(), json!(i.integration_uri()));
            p.insert("PayloadFormatVersion".into(), json!(i.payload_format_version()));
        }
        let stages =
            clients.apigateway.get_stages().api_id(&api_id).send().await.map_err(|e| Error::aws(&id, "apigateway:GetStages", e))?;
        if stages.items().iter().any(|s| s.stage_name() == Some(self.stage.as_str())) {
            p.insert("Stage".into(), json!(self.stage));
        }
        match clients.lambda.get_policy().function_name(&self.function).qualifier(&self.alias).send().await {
            Ok(out) => {
                let policy: Value = out.policy().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
                let sid = self.statement_id();
                if let Some(st) = policy["Statement"].as_array().and_then(|s| s.iter().find(|st| st["Sid"] == json!(sid))) {
                    p.insert("InvokePermission".into(), json!({"Sid": sid, "Principal": st["Principal"]["Service"]}));
                }
            }
            Err(err) if error_is(&err, &["ResourceNotFoundException"]) => {}
            Err(err) => return Err(Error::aws(&id, "lambda:GetPolicy", err)),
        }
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let cx = input.cx;
        let observed = |k: &str| input.observed.and_then(|o| o.get(k)).and_then(Value::as_str).map(str::to_owned);
        let uri = cx.lambda_arn(&self.function, Some(&self.alias));
        let api_id = match observed("ApiId") {
            Some(api) => api,
            None => clients
                .apigateway
                .create_api()
                .name(&self.name)
                .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "apigateway:CreateApi", e))?
                .api_id()
                .map(str::to_owned)
                .ok_or_else(|| Error::resource(&id, "CreateApi answered without an id"))?,
        };
        let create = matches!(input.change, Change::Create);
        let touches = |f: &str| create || input.change.touches(f);

        let integration_id = match observed("IntegrationId") {
            Some(existing) => {
                if touches("IntegrationUri") || touches("PayloadFormatVersion") {
                    clients
                        .apigateway
                        .update_integration()
                        .api_id(&api_id)
                        .integration_id(&existing)
                        .integration_uri(&uri)
                        .payload_format_version("2.0")
                        .send()
                        .await
                        .map_err(|e| Error::aws(&id, "apigateway:UpdateIntegration", e))?;
                }
                existing
            }
            None => clients
                .apigateway
                .create_integration()
                .api_id(&api_id)
                .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
                .integration_uri(&uri)
                .payload_format_version("2.0")
                .send()
                .await
                .map_err(|e| Error::aws(&id, "apigateway:CreateIntegration", e))?
                .integration_id()
                .map(str::to_owned)
                .ok_or_else(|| Error::resource(&id, "CreateIntegration answered without an id"))?,
        };
        let target = format!("integrations/{integration_id}");
        match observed("RouteId") {
            Some(route_id) if touches("IntegrationUri") => {
                clients
                    .apigateway
                    .update_route()
                    .api_id(&api_id)
                    .route_id(route_id)
                    .target(&target)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "apigateway:UpdateRoute", e))?;
            }
            Some(_) => {}
            None => {
                clients
                    .apigateway
                    .create_route()
                    .api_id(&api_id)
                    .route_key(&self.route)
                    .target(&target)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "apigateway:CreateRoute", e))?;
            }
        }
        if observed("Stage").is_none() {
            clients
                .apigateway
                .create_stage()
                .api_id(&api_id)
                .stage_name(&self.stage)
                .auto_deploy(true)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "apigateway:CreateStage", e))?;
        }
        if input.observed.and_then(|o| o.get("InvokePermission")).is_none() {
            clients
                .lambda
                .add_permission()
                .function_name(&self.function)
                .qualifier(&self.alias)
                .statement_id(self.statement_id())
                .action("lambda:InvokeFunction")
                .principal("apigateway.amazonaws.com")
                .source_arn(self.source_arn(cx, &api_id))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "lambda:AddPermission", e))?;
        }
        Ok(())
    }
}

/// The id and endpoint of the HTTP API named `name`, if any (paging through every API).
pub(crate) async fn find_api(clients: &Clients, id: &ResourceId, name: &str) -> Result<Option<(String, Option<String>)>> {
    let mut token: Option<String> = None;
    loop {
        let out = clients
            .apigateway
            .get_apis()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| Error::aws(id, "apigateway:GetApis", e))?;
        if let Some(api) = out.items().iter().find(|a| a.name() == Some(name)) {
            return Ok(api.api_id().map(|i| (i.to_owned(), api.api_endpoint().map(str::to_owned))));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_is_scoped_to_the_route() {
        let spec: ApiRouteSpec = serde_json::from_value(json!({"name": "p-slack", "function": "p-ingress"})).unwrap();
        spec.validate().unwrap();
        let cx = Context::new("aws", "us-east-1", "123456789012");
        assert_eq!(spec.source_arn(&cx, "abc123"), "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/slack/events");
        assert_eq!(spec.desired(&cx)["IntegrationUri"], json!("arn:aws:lambda:us-east-1:123456789012:function:p-ingress:live"));
        let bad: ApiRouteSpec = serde_json::from_value(json!({"name": "x", "function": "f", "route": "slack"})).unwrap();
        assert!(bad.validate().unwrap_err().contains("METHOD /path"));
    }
}
