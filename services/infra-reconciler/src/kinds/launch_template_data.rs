//! Launch template data between its JSON form (what a stack's `data` holds and what the plan
//! compares) and the EC2 SDK's request and response types. Only the keys in [`SUPPORTED`] are
//! converted; a stack using any other key is rejected at load time rather than silently dropped.

use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest, LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplatePlacementRequest,
    LaunchTemplateTagSpecificationRequest, LaunchTemplatesMonitoringRequest, RequestLaunchTemplateData, ResourceType,
    ResponseLaunchTemplateData, Tag, Tenancy, VolumeType,
};
use serde_json::{Map, Value, json};

/// The `LaunchTemplateData` keys this reconciler manages.
pub const SUPPORTED: [&str; 11] = [
    "ImageId",
    "InstanceType",
    "KeyName",
    "SecurityGroupIds",
    "UserData",
    "Placement",
    "TagSpecifications",
    "IamInstanceProfile",
    "BlockDeviceMappings",
    "MetadataOptions",
    "Monitoring",
];

/// Check that `data` only uses supported keys (and nested keys of the right shape).
pub fn check(data: &Map<String, Value>) -> Result<(), String> {
    if let Some(key) = data.keys().find(|k| !SUPPORTED.contains(&k.as_str())) {
        return Err(format!("data.{key} is not supported; supported keys: {}", SUPPORTED.join(", ")));
    }
    Ok(())
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn i(v: &Value, key: &str) -> Option<i32> {
    v.get(key).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
}

fn b(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
}

fn tags(v: &Value) -> Vec<Tag> {
    v.get("Tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|t| Tag::builder().set_key(s(t, "Key")).set_value(s(t, "Value")).build()).collect())
        .unwrap_or_default()
}

/// The SDK request for a JSON launch template data document.
pub fn request(data: &Value) -> RequestLaunchTemplateData {
    let mut r = RequestLaunchTemplateData::builder()
        .set_image_id(s(data, "ImageId"))
        .set_instance_type(s(data, "InstanceType").map(|t| t.as_str().into()))
        .set_key_name(s(data, "KeyName"))
        .set_security_group_ids(strings(data, "SecurityGroupIds"))
        .set_user_data(s(data, "UserData"));
    if let Some(p) = data.get("Placement") {
        r = r.placement(
            LaunchTemplatePlacementRequest::builder()
                .set_availability_zone(s(p, "AvailabilityZone"))
                .set_tenancy(s(p, "Tenancy").map(|t| Tenancy::from(t.as_str())))
                .set_host_id(s(p, "HostId"))
                .set_group_name(s(p, "GroupName"))
                .set_host_resource_group_arn(s(p, "HostResourceGroupArn"))
                .build(),
        );
    }
    for spec in data.get("TagSpecifications").and_then(Value::as_array).into_iter().flatten() {
        r = r.tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .set_resource_type(s(spec, "ResourceType").map(|t| ResourceType::from(t.as_str())))
                .set_tags(Some(tags(spec)))
                .build(),
        );
    }
    if let Some(p) = data.get("IamInstanceProfile") {
        r = r.iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder().set_name(s(p, "Name")).set_arn(s(p, "Arn")).build(),
        );
    }
    for m in data.get("BlockDeviceMappings").and_then(Value::as_array).into_iter().flatten() {
        let ebs = m.get("Ebs").map(|e| {
            LaunchTemplateEbsBlockDeviceRequest::builder()
                .set_volume_size(i(e, "VolumeSize"))
                .set_volume_type(s(e, "VolumeType").map(|t| VolumeType::from(t.as_str())))
                .set_encrypted(b(e, "Encrypted"))
                .set_delete_on_termination(b(e, "DeleteOnTermination"))
                .set_iops(i(e, "Iops"))
                .set_throughput(i(e, "Throughput"))
                .build()
        });
        r = r.block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder().set_device_name(s(m, "DeviceName")).set_ebs(ebs).build(),
        );
    }
    if let Some(m) = data.get("MetadataOptions") {
        r = r.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_tokens(s(m, "HttpTokens").map(|t| LaunchTemplateHttpTokensState::from(t.as_str())))
                .set_http_put_response_hop_limit(i(m, "HttpPutResponseHopLimit"))
                .build(),
        );
    }
    if let Some(m) = data.get("Monitoring") {
        r = r.monitoring(LaunchTemplatesMonitoringRequest::builder().set_enabled(b(m, "Enabled")).build());
    }
    r.build()
}

/// Insert `value` under `key` unless it is absent.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        map.insert(key.to_owned(), v);
    }
}

/// The JSON form of what a launch template version holds, for the keys of [`SUPPORTED`]. Only
/// instance and volume tag specifications are kept: moto lists the template's own tags there too.
pub fn response_json(d: &ResponseLaunchTemplateData) -> Value {
    let mut m = Map::new();
    put(&mut m, "ImageId", d.image_id().map(|v| json!(v)));
    put(&mut m, "InstanceType", d.instance_type().map(|v| json!(v.as_str())));
    put(&mut m, "KeyName", d.key_name().map(|v| json!(v)));
    if !d.security_group_ids().is_empty() {
        m.insert("SecurityGroupIds".into(), json!(d.security_group_ids()));
    }
    put(&mut m, "UserData", d.user_data().map(|v| json!(v)));
    if let Some(p) = d.placement() {
        let mut pm = Map::new();
        put(&mut pm, "AvailabilityZone", p.availability_zone().map(|v| json!(v)));
        put(&mut pm, "Tenancy", p.tenancy().map(|v| json!(v.as_str())));
        put(&mut pm, "HostId", p.host_id().map(|v| json!(v)));
        put(&mut pm, "GroupName", p.group_name().filter(|g| !g.is_empty()).map(|v| json!(v)));
        put(&mut pm, "HostResourceGroupArn", p.host_resource_group_arn().map(|v| json!(v)));
        if !pm.is_empty() {
            m.insert("Placement".into(), Value::Object(pm));
        }
    }
    let specs: Vec<Value> = d
        .tag_specifications()
        .iter()
        .filter(|t| matches!(t.resource_type(), Some(ResourceType::Instance | ResourceType::Volume)))
        .map(|t| {
            let tags: Vec<Value> = t.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect();
            json!({"ResourceType": t.resource_type().map(ResourceType::as_str), "Tags": tags})
        })
        .collect();
    if !specs.is_empty() {
        m.insert("TagSpecifications".into(), Value::Array(specs));
    }
    if let Some(p) = d.iam_instance_profile() {
        let mut pm = Map::new();
        put(&mut pm, "Name", p.name().map(|v| json!(v)));
        put(&mut pm, "Arn", p.arn().map(|v| json!(v)));
        m.insert("IamInstanceProfile".into(), Value::Object(pm));
    }
    let mappings: Vec<Value> = d
        .block_device_mappings()
        .iter()
        .map(|bd| {
            let mut bm = Map::new();
            put(&mut bm, "DeviceName", bd.device_name().map(|v| json!(v)));
            if let Some(e) = bd.ebs() {
                let mut em = Map::new();
                put(&mut em, "VolumeSize", e.volume_size().map(|v| json!(v)));
                put(&mut em, "VolumeType", e.volume_type().map(|v| json!(v.as_str())));
                put(&mut em, "Encrypted", e.encrypted().map(|v| json!(v)));
                put(&mut em, "DeleteOnTermination", e.delete_on_termination().map(|v| json!(v)));
                put(&mut em, "Iops", e.iops().map(|v| json!(v)));
                put(&mut em, "Throughput", e.throughput().map(|v| json!(v)));
                bm.insert("Ebs".into(), Value::Object(em));
            }
            Value::Object(bm)
        })
        .collect();
    if !mappings.is_empty() {
        m.insert("BlockDeviceMappings".into(), Value::Array(mappings));
    }
    if let Some(o) = d.metadata_options() {
        let mut om = Map::new();
        put(&mut om, "HttpTokens", o.http_tokens().map(|v| json!(v.as_str())));
        put(&mut om, "HttpPutResponseHopLimit", o.http_put_response_hop_limit().map(|v| json!(v)));
        m.insert("MetadataOptions".into(), Value::Object(om));
    }
    if let Some(mon) = d.monitoring() {
        m.insert("Monitoring".into(), json!({"Enabled": mon.enabled().unwrap_or(false)}));
    }
    Value::Object(m)
}

/// The observed document as the plan compares it: every top-level key (so a key added out of
/// band shows), but inside a declared object only the keys the declaration sets (AWS fills in
/// defaults there, e.g. a placement's zone).
pub fn comparable_top(desired: &Value, observed: &Value) -> Value {
    match (desired, observed) {
        (Value::Object(want), Value::Object(have)) => {
            Value::Object(have.iter().map(|(k, v)| (k.clone(), want.get(k).map_or_else(|| v.clone(), |w| comparable(w, v)))).collect())
        }
        _ => observed.clone(),
    }
}

/// Only the keys `desired` sets count.
pub fn comparable(desired: &Value, observed: &Value) -> Value {
    match (desired, observed) {
        (Value::Object(want), Value::Object(have)) => {
            Value::Object(want.keys().filter_map(|k| have.get(k).map(|v| (k.clone(), comparable(&want[k], v)))).collect())
        }
        _ => observed.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_keys_are_named() {
        let data = json!({"ImageId": "ami-1", "CpuOptions": {"CoreCount": 2}});
        let err = check(data.as_object().unwrap()).unwrap_err();
        assert!(err.starts_with("data.CpuOptions is not supported"), "{err}");
        assert!(check(json!({"ImageId": "ami-1", "Placement": {"Tenancy": "host"}}).as_object().unwrap()).is_ok());
    }

    #[test]
    fn a_request_round_trips_through_the_response_shape() {
        let data = json!({
            "ImageId": "ami-1", "InstanceType": "mac2.metal", "SecurityGroupIds": ["sg-1"], "UserData": "aGk=",
            "Placement": {"Tenancy": "host"},
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}],
            "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 200, "VolumeType": "gp3"}}],
        });
        let req = request(&data);
        // The response type has the same fields; build one from the request's values.
        let resp = ResponseLaunchTemplateData::builder()
            .set_image_id(req.image_id().map(str::to_owned))
            .set_instance_type(req.instance_type().cloned())
            .set_security_group_ids(Some(req.security_group_ids().to_vec()))
            .set_user_data(req.user_data().map(str::to_owned))
            .placement(aws_sdk_ec2::types::LaunchTemplatePlacement::builder().tenancy(Tenancy::Host).build())
            .tag_specifications(
                aws_sdk_ec2::types::LaunchTemplateTagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("a").value("b").build())
                    .build(),
            )
            .tag_specifications(
                aws_sdk_ec2::types::LaunchTemplateTagSpecification::builder()
                    .resource_type(ResourceType::LaunchTemplate)
                    .tags(Tag::builder().key("pulse:stack").value("x").build())
                    .build(),
            )
            .block_device_mappings(
                aws_sdk_ec2::types::LaunchTemplateBlockDeviceMapping::builder()
                    .device_name("/dev/sda1")
                    .ebs(aws_sdk_ec2::types::LaunchTemplateEbsBlockDevice::builder().volume_size(200).volume_type(VolumeType::Gp3).build())
                    .build(),
            )
            .build();
        assert_eq!(response_json(&resp), data);
    }

    #[test]
    fn defaults_aws_adds_do_not_count() {
        let want = json!({"ImageId": "a", "Placement": {"Tenancy": "host"}});
        let have = json!({"ImageId": "b", "Placement": {"Tenancy": "host", "AvailabilityZone": "x"}, "MetadataOptions": {}});
        assert_eq!(comparable(&want, &have), json!({"ImageId": "b", "Placement": {"Tenancy": "host"}}));
    }
}
