//! `Table`: a DynamoDB table (on-demand), with TTL, optional global secondary indexes, and, for
//! tables that hold state worth restoring, point-in-time recovery and deletion protection.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as SdkBillingMode, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, Projection, ProjectionType as SdkProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId, normalize, show};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    pub partition_key: KeyAttribute,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<KeyAttribute>,
    #[serde(default)]
    pub billing_mode: BillingMode,
    /// The attribute holding each item's expiry (epoch seconds); TTL is enabled on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_attribute: Option<String>,
    /// When declared, the exact set of global secondary indexes (others are deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<IndexSpec>>,
    /// Continuous backups: the table can be restored to any second of the last 35 days
    /// (absent: not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time_recovery: Option<bool>,
    /// DeleteTable is refused while on (absent: not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    pub name: String,
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeType {
    S,
    N,
    B,
}

impl AttributeType {
    fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
        }
    }
}

/// Only on-demand tables for now; provisioned capacity would add read/write units here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    #[default]
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    pub name: String,
    pub partition_key: KeyAttribute,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<KeyAttribute>,
    #[serde(default)]
    pub projection: ProjectionType,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    #[default]
    All,
    KeysOnly,
}

impl ProjectionType {
    fn as_str(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
        }
    }
}

fn key_schema_value(pk: &KeyAttribute, sk: Option<&KeyAttribute>) -> Value {
    let mut keys = vec![json!({"AttributeName": pk.name, "KeyType": "HASH", "AttributeType": pk.attribute_type.as_str()})];
    if let Some(sk) = sk {
        keys.push(json!({"AttributeName": sk.name, "KeyType": "RANGE", "AttributeType": sk.attribute_type.as_str()}));
    }
    Value::Array(keys)
}

fn key_schema_sdk(id: &ResourceId, pk: &KeyAttribute, sk: Option<&KeyAttribute>) -> Result<Vec<KeySchemaElement>> {
    let mut keys = vec![(pk, KeyType::Hash)];
    keys.extend(sk.map(|sk| (sk, KeyType::Range)));
    keys.into_iter()
        .map(|(k, t)| {
            KeySchemaElement::builder().attribute_name(&k.name).key_type(t).build().map_err(|e| Error::resource(id, e.to_string()))
        })
        .collect()
}

fn projection_sdk(p: ProjectionType) -> Projection {
    Projection::builder().projection_type(SdkProjectionType::from(p.as_str())).build()
}

impl TableSpec {
    fn indexes(&self) -> &[IndexSpec] {
        self.global_secondary_indexes.as_deref().unwrap_or_default()
    }

    /// Every key attribute of the table and its indexes, once each.
    fn key_attributes(&self) -> Vec<&KeyAttribute> {
        let mut attrs: Vec<&KeyAttribute> = Vec::new();
        let all = std::iter::once(&self.partition_key)
            .chain(self.sort_key.as_ref())
            .chain(self.indexes().iter().flat_map(|i| std::iter::once(&i.partition_key).chain(i.sort_key.as_ref())));
        for a in all {
            if !attrs.iter().any(|b| b.name == a.name) {
                attrs.push(a);
            }
        }
        attrs
    }

    fn attribute_definitions(&self, names: Option<&[&str]>) -> Result<Vec<AttributeDefinition>> {
        self.key_attributes()
            .into_iter()
            .filter(|a| names.is_none_or(|n| n.contains(&a.name.as_str())))
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| Error::resource(&self.id(), e.to_string()))
            })
            .collect()
    }

    fn index_value(i: &IndexSpec) -> Value {
        json!({"KeySchema": key_schema_value(&i.partition_key, i.sort_key.as_ref()), "Projection": i.projection.as_str()})
    }

    async fn wait_active(&self, clients: &Clients) -> Result<()> {
        let id = self.id();
        let deadline = Instant::now() + Duration::from_secs(15 * 60);
        let mut delay = Duration::from_millis(500);
        loop {
            let out = clients
                .dynamodb
                .describe_table()
                .table_name(&self.name)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:DescribeTable", e))?;
            let table = out.table();
            let table_active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
            let indexes_active =
                table.map(|t| t.global_secondary_indexes().iter().all(|i| i.index_status() == Some(&IndexStatus::Active))).unwrap_or(true);
            if table_active && indexes_active {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::resource(&id, "the table did not become ACTIVE within 15 minutes"));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    async fn set_ttl(&self, clients: &Clients, attribute: &str, enabled: bool) -> Result<()> {
        let id = self.id();
        let spec = TimeToLiveSpecification::builder()
            .enabled(enabled)
            .attribute_name(attribute)
            .build()
            .map_err(|e| Error::resource(&id, e.to_string()))?;
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&self.name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "dynamodb:UpdateTimeToLive", e))?;
        Ok(())
    }

    async fn set_point_in_time_recovery(&self, clients: &Clients, on: bool) -> Result<()> {
        let id = self.id();
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(on)
            .build()
            .map_err(|e| Error::resource(&id, e.to_string()))?;
        clients
            .dynamodb
            .update_continuous_backups()
            .table_name(&self.name)
            .point_in_time_recovery_specification(spec)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "dynamodb:UpdateContinuousBackups", e))?;
        Ok(())
    }

    async fn create(&self, clients: &Clients) -> Result<()> {
        let id = self.id();
        let mut request = clients
            .dynamodb
            .create_table()
            .table_name(&self.name)
            .billing_mode(SdkBillingMode::PayPerRequest)
            .set_deletion_protection_enabled(self.deletion_protection)
            .set_attribute_definitions(Some(self.attribute_definitions(None)?))
            .set_key_schema(Some(key_schema_sdk(&id, &self.partition_key, self.sort_key.as_ref())?));
        for index in self.indexes() {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema_sdk(&id, &index.partition_key, index.sort_key.as_ref())?))
                .projection(projection_sdk(index.projection))
                .build()
                .map_err(|e| Error::resource(&id, e.to_string()))?;
            request = request.global_secondary_indexes(gsi);
        }
        request.send().await.map_err(|e| Error::aws(&id, "dynamodb:CreateTable", e))?;
        if self.ttl_attribute.is_some() || self.point_in_time_recovery == Some(true) {
            // Neither TTL nor backups can be set while the table is still being created.
            self.wait_active(clients).await?;
        }
        if let Some(ttl) = &self.ttl_attribute {
            self.set_ttl(clients, ttl, true).await?;
        }
        if self.point_in_time_recovery == Some(true) {
            self.set_point_in_time_recovery(clients, true).await?;
        }
        Ok(())
    }

    async fn update_indexes(&self, clients: &Clients, observed: Option<&Value>) -> Result<()> {
        let id = self.id();
        let observed: BTreeMap<String, Value> =
            observed.and_then(Value::as_object).map(|m| m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()).unwrap_or_default();
        let desired: BTreeMap<&str, &IndexSpec> = self.indexes().iter().map(|i| (i.name.as_str(), i)).collect();
        // Changed indexes are dropped and recreated; DynamoDB takes one index change per call.
        let mut delete: Vec<&str> = Vec::new();
        let mut create: Vec<&IndexSpec> = Vec::new();
        for (name, have) in &observed {
            match desired.get(name.as_str()) {
                None => delete.push(name),
                Some(want) if normalize(&Self::index_value(want)) != *have => {
                    delete.push(name);
                    create.push(want);
                }
                Some(_) => {}
            }
        }
        create.extend(desired.iter().filter(|(n, _)| !observed.contains_key(**n)).map(|(_, i)| *i));
        for name in delete {
            let action =
                DeleteGlobalSecondaryIndexAction::builder().index_name(name).build().map_err(|e| Error::resource(&id, e.to_string()))?;
            clients
                .dynamodb
                .update_table()
                .table_name(&self.name)
                .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().delete(action).build())
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:UpdateTable", e))?;
            self.wait_active(clients).await?;
        }
        for index in create {
            let names: Vec<&str> = std::iter::once(&index.partition_key).chain(index.sort_key.as_ref()).map(|k| k.name.as_str()).collect();
            let action = CreateGlobalSecondaryIndexAction::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema_sdk(&id, &index.partition_key, index.sort_key.as_ref())?))
                .projection(projection_sdk(index.projection))
                .build()
                .map_err(|e| Error::resource(&id, e.to_string()))?;
            clients
                .dynamodb
                .update_table()
                .table_name(&self.name)
                .set_attribute_definitions(Some(self.attribute_definitions(Some(&names))?))
                .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(action).build())
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:UpdateTable", e))?;
            self.wait_active(clients).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for TableSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::Table, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        Vec::new()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("table", &self.name, 3..=255, |c| c.is_ascii_alphanumeric() || "._-".contains(c), "A-Z a-z 0-9 . _ -")?;
        // One attribute, one type, across the table's and its indexes' keys.
        let mut seen: BTreeMap<&str, AttributeType> = BTreeMap::new();
        let all = std::iter::once(&self.partition_key)
            .chain(self.sort_key.as_ref())
            .chain(self.indexes().iter().flat_map(|i| std::iter::once(&i.partition_key).chain(i.sort_key.as_ref())));
        for key in all {
            if let Some(t) = seen.insert(&key.name, key.attribute_type)
                && t != key.attribute_type
            {
                return Err(format!("key attribute {} is declared both {} and {}", key.name, t.as_str(), key.attribute_type.as_str()));
            }
        }
        let mut names: Vec<&str> = self.indexes().iter().map(|i| i.name.as_str()).collect();
        for n in &names {
            check_name("index", n, 3..=255, |c| c.is_ascii_alphanumeric() || "._-".contains(c), "A-Z a-z 0-9 . _ -")?;
        }
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("index {} is declared twice", w[0]));
        }
        Ok(())
    }

    fn desired(&self, _cx: &Context) -> Properties {
        let mut p = Properties::new();
        p.insert("KeySchema".into(), key_schema_value(&self.partition_key, self.sort_key.as_ref()));
        p.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
        if let Some(ttl) = &self.ttl_attribute {
            p.insert("TimeToLive".into(), json!(ttl));
        }
        if let Some(indexes) = &self.global_secondary_indexes {
            let map: Map<String, Value> = indexes.iter().map(|i| (i.name.clone(), Self::index_value(i))).collect();
            p.insert("GlobalSecondaryIndexes".into(), Value::Object(map));
        }
        if let Some(on) = self.point_in_time_recovery {
            p.insert("PointInTimeRecovery".into(), json!(on));
        }
        if let Some(on) = self.deletion_protection {
            p.insert("DeletionProtection".into(), json!(on));
        }
        p
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let out = match clients.dynamodb.describe_table().table_name(&self.name).send().await {
            Ok(out) => out,
            Err(err) if error_is(&err, &["ResourceNotFoundException"]) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "dynamodb:DescribeTable", err)),
        };
        let Some(table) = out.table() else {
            return Ok(None);
        };
        let types: BTreeMap<&str, &str> =
            table.attribute_definitions().iter().map(|a| (a.attribute_name(), a.attribute_type().as_str())).collect();
        let keys = |schema: &[KeySchemaElement]| -> Value {
            let mut keys: Vec<&KeySchemaElement> = schema.iter().collect();
            keys.sort_by_key(|k| k.key_type().as_str().to_owned()); // HASH before RANGE
            Value::Array(
                keys.into_iter()
                    .map(|k| {
                        json!({
                            "AttributeName": k.attribute_name(),
                            "KeyType": k.key_type().as_str(),
                            "AttributeType": types.get(k.attribute_name()).copied(),
                        })
                    })
                    .collect(),
            )
        };
        let mut p = Properties::new();
        p.insert("KeySchema".into(), keys(table.key_schema()));
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map_or("PROVISIONED", |b| b.as_str());
        p.insert("BillingMode".into(), json!(billing));
        let indexes: Map<String, Value> = table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                let projection = i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str());
                (i.index_name().unwrap_or_default().to_owned(), json!({"KeySchema": keys(i.key_schema()), "Projection": projection}))
            })
            .collect();
        p.insert("GlobalSecondaryIndexes".into(), Value::Object(indexes));
        if let Some(status) = table.table_status() {
            p.insert("TableStatus".into(), json!(status.as_str()));
        }
        if self.deletion_protection.is_some() {
            p.insert("DeletionProtection".into(), json!(table.deletion_protection_enabled().unwrap_or(false)));
        }
        if self.point_in_time_recovery.is_some() {
            let backups = clients
                .dynamodb
                .describe_continuous_backups()
                .table_name(&self.name)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:DescribeContinuousBackups", e))?;
            let on = backups
                .continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|d| d.point_in_time_recovery_status())
                == Some(&PointInTimeRecoveryStatus::Enabled);
            p.insert("PointInTimeRecovery".into(), json!(on));
        }

        let ttl = clients
            .dynamodb
            .describe_time_to_live()
            .table_name(&self.name)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "dynamodb:DescribeTimeToLive", e))?;
        let ttl_attribute = ttl.time_to_live_description().and_then(|d| {
            let on = matches!(d.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
            if on { d.attribute_name() } else { None }
        });
        p.insert("TimeToLive".into(), ttl_attribute.map_or(Value::Null, |a| json!(a)));
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let fields = match input.change {
            Change::NoChange => return Ok(()),
            Change::Create => return self.create(clients).await,
            Change::Update { fields } => fields,
        };
        if let Some(key) = fields.iter().find(|f| f.field == "KeySchema") {
            return Err(Error::resource(
                &id,
                format!(
                    "the key schema cannot change in place ({} → {}); a table's keys are fixed when it is created",
                    show(key.from.as_ref()),
                    show(Some(&key.to))
                ),
            ));
        }
        if input.change.touches("BillingMode") {
            clients
                .dynamodb
                .update_table()
                .table_name(&self.name)
                .billing_mode(SdkBillingMode::PayPerRequest)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:UpdateTable", e))?;
            self.wait_active(clients).await?;
        }
        if let (true, Some(on)) = (input.change.touches("DeletionProtection"), self.deletion_protection) {
            clients
                .dynamodb
                .update_table()
                .table_name(&self.name)
                .deletion_protection_enabled(on)
                .send()
                .await
                .map_err(|e| Error::aws(&id, "dynamodb:UpdateTable", e))?;
            self.wait_active(clients).await?;
        }
        if let (true, Some(on)) = (input.change.touches("PointInTimeRecovery"), self.point_in_time_recovery) {
            self.set_point_in_time_recovery(clients, on).await?;
        }
        if input.change.touches("GlobalSecondaryIndexes") {
            self.update_indexes(clients, input.observed.and_then(|o| o.get("GlobalSecondaryIndexes"))).await?;
        }
        if let (true, Some(ttl)) = (input.change.touches("TimeToLive"), &self.ttl_attribute) {
            // TTL can be on one attribute at a time: switch the old one off first.
            if let Some(old) = input.observed.and_then(|o| o.get("TimeToLive")).and_then(Value::as_str)
                && old != ttl
            {
                self.set_ttl(clients, old, false).await?;
            }
            self.set_ttl(clients, ttl, true).await?;
        }
        Ok(())
    }
}
