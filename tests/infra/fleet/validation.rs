//! Validation: each rule fails at load time, before any client exists, naming the resource and
//! the field.

use pulse_infra_reconciler::{LoadOptions, StackConfig};
use serde_json::json;

use super::AMI;

#[tokio::test]
async fn each_validation_error_stops_before_any_aws_call() {
    let cases = [
        (
            json!({"kind": "DedicatedHost", "name": "pool", "instance_type": "mac2-m2.metal", "availability_zones": ["us-east-1a"]}),
            "DedicatedHost pool: auto_placement must be \"on\" for mac instance type mac2-m2.metal",
        ),
        (
            json!({"kind": "LaunchTemplate", "name": "mac-lt", "image_id": AMI, "instance_type": "mac2-m2.metal"}),
            "LaunchTemplate mac-lt: tenancy must be \"host\" for mac instance type mac2-m2.metal",
        ),
        (
            json!({"kind": "EC2Instance", "name": "mac-box", "image_id": AMI, "instance_type": "mac2.metal", "tenancy": "default"}),
            "EC2Instance mac-box: tenancy must be \"host\"",
        ),
        (
            json!({"kind": "AutoScalingGroup", "name": "g", "launch_template_name": "x", "max_size": 1}),
            "AutoScalingGroup g: no networking: set subnet_ids, or vpc_id / vpc_name",
        ),
        (
            json!({"kind": "AutoScalingGroup", "name": "g", "vpc_name": "ci-cd", "launch_template_name": "x", "max_size": 1, "desired_capacity": 2}),
            "AutoScalingGroup g: desired_capacity 2 is greater than max_size 1",
        ),
        (
            json!({"kind": "LaunchTemplate", "name": "linux-lt", "image_builder_pipeline_name": "praktika-linux-ib-pipeline", "instance_type": "c6a.large"}),
            "LaunchTemplate linux-lt: image_builder_pipeline_name \"praktika-linux-ib-pipeline\" names no ImageBuilder of this stack",
        ),
        (json!({"kind": "IAMInstanceProfile", "name": "prof"}), "IAMInstanceProfile prof: role_name must be set"),
    ];
    for (resource, message) in cases {
        let text = json!({"resources": [resource]}).to_string();
        let err = StackConfig::parse(&text, "bad.json", &LoadOptions::new("v1")).unwrap_err().to_string();
        assert!(err.starts_with("invalid stack file bad.json:") && err.contains(message), "{err}\nexpected: {message}");
    }
    // The macOS group rule needs the template's type: checked across resources.
    let text = json!({"resources": [
        {"kind": "LaunchTemplate", "name": "mac-lt", "image_id": AMI, "instance_type": "mac2-m2.metal", "tenancy": "host"},
        {"kind": "AutoScalingGroup", "name": "mac-asg", "vpc_name": "ci-cd", "launch_template_name": "mac-lt", "min_size": 1, "max_size": 1}
    ]})
    .to_string();
    let err = StackConfig::parse(&text, "bad.json", &LoadOptions::new("v1")).unwrap_err().to_string();
    assert!(err.contains("AutoScalingGroup mac-asg: min_size must be 0 for a group of mac instances"), "{err}");
    // Duplicate names.
    let text = json!({"resources": [
        {"kind": "DedicatedHost", "name": "pool", "instance_type": "c5.metal", "availability_zones": ["us-east-1a"]},
        {"kind": "DedicatedHost", "name": "pool", "instance_type": "c5.metal", "availability_zones": ["us-east-1b"]}
    ]})
    .to_string();
    let err = StackConfig::parse(&text, "bad.json", &LoadOptions::new("v1")).unwrap_err().to_string();
    assert!(err.contains("DedicatedHost pool is declared twice"), "{err}");
}
