//! The CI fleet's kinds on the emulator: plan, deploy, a no-op redeploy, drift made out of band
//! with the SDK, `--only`, shutdown (owned resources only), validation, a failed deploy's report,
//! and the macOS example end to end. Every stack runs under a unique prefix.
//!
//! moto gaps worked around (see the kinds' docs): DescribeHosts ignores `tag:<key>` filters (the
//! reconciler filters by `tag-key` and checks values itself); instances launched with
//! `Placement.Tenancy=host` report `default` (the instance tenancy is not asserted here, the
//! launch template's is); CreateAutoScalingGroup stores a grace period of 0 as 300 (the
//! reconciler corrects it with one update); RunInstances with a count above 1 associates the
//! instance profile with the first instance only (the reconciler associates the others).

use pulse_infra_reconciler::sdk::ec2::types::{AutoPlacement, Filter, Tag};
use pulse_infra_reconciler::sdk::ec2::types::{InstanceType, RequestLaunchTemplateData};
use pulse_infra_reconciler::{
    Change, Clients, Kind, LoadOptions, Plan, PlanOptions, ResourceId, StackConfig, apply, plan, plan_shutdown, shutdown,
};
use pulse_tests::{emulator_config, unique};
use serde_json::{Value, json};

mod shutdown_tests;
mod validation;

pub(super) const AMI: &str = "ami-12c6146b";

/// Two managed policies of the account (moto does not load AWS's managed policies unless told
/// to, so the tests make their own).
async fn policies(clients: &Clients, p: &str) -> (String, String) {
    let mut arns = Vec::new();
    for name in ["ssm", "cloudwatch"] {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": format!("{name}:Get*"), "Resource": "*"}]});
        let out = clients.iam.create_policy().policy_name(format!("{p}-{name}")).policy_document(doc.to_string()).send().await.unwrap();
        arns.push(out.policy.unwrap().arn.unwrap());
    }
    (arns[0].clone(), arns[1].clone())
}

pub(super) async fn clients() -> Clients {
    Clients::new(&emulator_config().await)
}

pub(super) fn load(stack: &Value, prefix: &str) -> StackConfig {
    StackConfig::parse(&stack.to_string(), "fleet test", &LoadOptions::new(prefix)).expect("the stack loads")
}

async fn plan_all(stack: &StackConfig, clients: &Clients) -> Plan {
    plan(stack, clients, &PlanOptions::default()).await.expect("plan")
}

pub(super) async fn deploy(stack: &StackConfig, clients: &Clients) -> Plan {
    let p = plan_all(stack, clients).await;
    apply(&p, clients, |_| {}).await.expect("deploy");
    p
}

/// A VPC with one subnet in each of us-east-1a and us-east-1b; returns (vpc, subnet a, subnet b).
async fn vpc(clients: &Clients, name: &str) -> (String, String, String) {
    let vpc = clients.ec2.create_vpc().cidr_block("10.20.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    clients.ec2.create_tags().resources(&vpc).tags(Tag::builder().key("Name").value(name).build()).send().await.unwrap();
    let mut subnets = Vec::new();
    for (cidr, zone) in [("10.20.1.0/24", "us-east-1a"), ("10.20.2.0/24", "us-east-1b")] {
        let s = clients.ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(zone).send().await.unwrap();
        subnets.push(s.subnet.unwrap().subnet_id.unwrap());
    }
    (vpc, subnets[0].clone(), subnets[1].clone())
}

/// A fleet with one resource of each kind.
fn fleet(p: &str, subnet: &str, policy: &str) -> Value {
    json!({
        "$schema": "../../infra/stack.schema.json",
        "resources": [
            {"kind": "IAMInstanceProfile", "name": format!("{p}-runner"), "role_name": format!("{p}-runner-role"),
             "policy_arns": [policy],
             "inline_policies": {"read-feeds": {"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::feeds/*"}]}},
             "tags": {"team": "ci"}},
            {"kind": "DedicatedHost", "name": format!("{p}-hosts"), "availability_zones": ["us-east-1a", "us-east-1b"],
             "instance_type": "mac2.metal", "auto_placement": "on", "quantity_per_az": 1, "tags": {"praktika": "mac"}},
            {"kind": "EC2Instance", "name": format!("{p}-builder"), "quantity": 2, "image_id": AMI, "instance_type": "t3.micro",
             "iam_instance_profile_name": format!("{p}-runner"), "user_data": "#!/bin/bash\necho builder\n",
             "runner_labels": ["builder", "amd"], "tags": {"owner": "ci"}},
            {"kind": "LaunchTemplate", "name": format!("{p}-lt"), "image_id": AMI, "instance_type": "t3.micro",
             "security_group_ids": ["sg-0123456789abcdef0"], "user_data": "#!/bin/bash\necho hi\n", "praktika_resource_tag": "linux"},
            {"kind": "AutoScalingGroup", "name": format!("{p}-asg"), "subnet_ids": [subnet], "min_size": 0, "max_size": 2,
             "launch_template_name": format!("{p}-lt"), "tags": {"pool": "linux"}}
        ]
    })
}

pub(super) fn id(kind: Kind, name: String) -> ResourceId {
    ResourceId::new(kind, name)
}

pub(super) async fn owned_hosts(clients: &Clients, prefix: &str) -> Vec<pulse_infra_reconciler::sdk::ec2::types::Host> {
    let out = clients.ec2.describe_hosts().send().await.unwrap();
    out.hosts()
        .iter()
        .filter(|h| h.tags().iter().any(|t| t.key() == Some("pulse:stack") && t.value() == Some(prefix)))
        .filter(|h| h.state().map(|s| s.as_str()) == Some("available"))
        .cloned()
        .collect()
}

pub(super) async fn live_instances(clients: &Clients, tag: (&str, &str)) -> Vec<pulse_infra_reconciler::sdk::ec2::types::Instance> {
    let out = clients
        .ec2
        .describe_instances()
        .filters(Filter::builder().name(format!("tag:{}", tag.0)).values(tag.1).build())
        .filters(Filter::builder().name("instance-state-name").values("pending").values("running").values("stopped").build())
        .send()
        .await
        .unwrap();
    out.reservations().iter().flat_map(|r| r.instances()).cloned().collect()
}

fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

#[tokio::test]
async fn plan_deploy_and_a_second_deploy_without_writes() {
    let clients = clients().await;
    let p = unique("fl");
    let (_, subnet_a, _) = vpc(&clients, &format!("{p}-vpc")).await;
    let (ssm_policy, _) = policies(&clients, &p).await;
    let stack = load(&fleet(&p, &subnet_a, &ssm_policy), &p);

    let first = plan_all(&stack, &clients).await;
    assert_eq!(first.api_calls.write, 0, "planning only reads: {:?}", first.api_calls);
    assert_eq!(first.summary().create, 5, "{first}");
    let order: Vec<Kind> = first.entries.iter().map(|e| e.id.kind).collect();
    let pos = |k: Kind| order.iter().position(|o| *o == k).unwrap();
    assert!(pos(Kind::IAMInstanceProfile) < pos(Kind::EC2Instance) && pos(Kind::LaunchTemplate) < pos(Kind::AutoScalingGroup), "{order:?}");
    let text = first.to_string();
    assert!(text.contains("+ create     DedicatedHost") && text.contains(&format!("{p}-asg")), "{text}");

    let report = apply(&first, &clients, |_| {}).await.expect("deploy");
    assert_eq!(report.created.len(), 5);

    // What landed in the emulator.
    let hosts = owned_hosts(&clients, &p).await;
    assert_eq!(hosts.len(), 2, "one host per zone");
    let mut zones: Vec<&str> = hosts.iter().filter_map(|h| h.availability_zone()).collect();
    zones.sort();
    assert_eq!(zones, ["us-east-1a", "us-east-1b"]);
    for h in &hosts {
        assert_eq!(h.auto_placement(), Some(&AutoPlacement::On));
        assert_eq!(h.host_properties().and_then(|p| p.instance_type()), Some("mac2.metal"));
        assert_eq!(tag(h.tags(), "praktika"), Some("mac"));
        assert_eq!(tag(h.tags(), "praktika_rn"), Some(format!("{p}-hosts").as_str()));
        assert_eq!(tag(h.tags(), "pulse:kind"), Some("DedicatedHost"));
    }

    let instances = live_instances(&clients, ("pulse:resource", &format!("{p}-builder"))).await;
    assert_eq!(instances.len(), 2);
    for i in &instances {
        assert_eq!(i.image_id(), Some(AMI));
        assert_eq!(i.instance_type(), Some(&InstanceType::T3Micro));
        assert_eq!(tag(i.tags(), "Name"), Some(format!("{p}-builder").as_str()));
        assert_eq!(tag(i.tags(), "github:runner-type"), Some("builder,amd"));
        assert_eq!(tag(i.tags(), "owner"), Some("ci"));
        assert!(i.iam_instance_profile().and_then(|p| p.arn()).unwrap().ends_with(&format!("/{p}-runner")));
    }

    let role = clients.iam.get_role().role_name(format!("{p}-runner-role")).send().await.unwrap().role.unwrap();
    assert!(role.assume_role_policy_document().unwrap().contains("ec2.amazonaws.com"));
    let attached = clients.iam.list_attached_role_policies().role_name(format!("{p}-runner-role")).send().await.unwrap();
    assert_eq!(attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect::<Vec<_>>(), [ssm_policy.as_str()]);
    let inline = clients.iam.list_role_policies().role_name(format!("{p}-runner-role")).send().await.unwrap();
    assert_eq!(inline.policy_names(), ["read-feeds"]);
    let profile = clients.iam.get_instance_profile().instance_profile_name(format!("{p}-runner")).send().await.unwrap();
    let roles: Vec<&str> = profile.instance_profile().unwrap().roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, [format!("{p}-runner-role")]);

    let versions =
        clients.ec2.describe_launch_template_versions().launch_template_name(format!("{p}-lt")).versions("$Default").send().await.unwrap();
    let data = versions.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.image_id(), Some(AMI));
    assert_eq!(data.user_data(), Some("IyEvYmluL2Jhc2gKZWNobyBoaQo="), "user data is stored base64-encoded");
    assert_eq!(data.security_group_ids(), ["sg-0123456789abcdef0"]);

    let group = clients.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(format!("{p}-asg")).send().await.unwrap();
    let g = &group.auto_scaling_groups()[0];
    assert_eq!((g.min_size(), g.max_size(), g.desired_capacity()), (Some(0), Some(2), Some(0)));
    assert_eq!(g.vpc_zone_identifier(), Some(subnet_a.as_str()));
    assert_eq!(g.health_check_type(), Some("EC2"));
    assert_eq!(g.health_check_grace_period(), Some(0));
    let lt = g.launch_template().unwrap();
    assert_eq!((lt.launch_template_name(), lt.version()), (Some(format!("{p}-lt").as_str()), Some("$Latest")));
    for key in ["pool", "praktika_rn", "pulse:stack", "pulse:resource"] {
        let t = g.tags().iter().find(|t| t.key() == Some(key)).unwrap_or_else(|| panic!("tag {key}"));
        assert_eq!(t.propagate_at_launch(), Some(true), "{key} is propagated to instances");
    }

    // The second deploy: nothing to change, no write call.
    let second = plan_all(&stack, &clients).await;
    assert!(!second.has_changes(), "{second}");
    let before = clients.api_calls();
    let report = apply(&second, &clients, |_| {}).await.unwrap();
    assert_eq!(report.unchanged.len(), 5);
    assert_eq!(clients.api_calls().since(&before).total(), 0);
    assert_eq!(second.api_calls.write, 0);
    assert!(second.to_string().contains("Plan: 0 to create, 0 to update, 5 unchanged"), "{second}");
}

#[tokio::test]
async fn drift_made_out_of_band_shows_in_the_plan_and_a_deploy_repairs_it() {
    let clients = clients().await;
    let p = unique("fd");
    let (_, subnet_a, _) = vpc(&clients, &format!("{p}-vpc")).await;
    let (ssm_policy, cw_policy) = policies(&clients, &p).await;
    let stack = load(&fleet(&p, &subnet_a, &ssm_policy), &p);
    deploy(&stack, &clients).await;

    // Out of band: one host's auto placement off, a new default launch template version with
    // another type, the group's max size, a detached policy plus an extra one, a changed
    // instance tag and a stopped instance.
    let host = owned_hosts(&clients, &p).await[0].host_id().unwrap().to_owned();
    clients.ec2.modify_hosts().host_ids(&host).auto_placement(AutoPlacement::Off).send().await.unwrap();
    let lt_name = format!("{p}-lt");
    let v = clients
        .ec2
        .create_launch_template_version()
        .launch_template_name(&lt_name)
        .launch_template_data(RequestLaunchTemplateData::builder().image_id(AMI).instance_type(InstanceType::T3Large).build())
        .send()
        .await
        .unwrap();
    let v2 = v.launch_template_version().unwrap().version_number().unwrap();
    clients.ec2.modify_launch_template().launch_template_name(&lt_name).default_version(v2.to_string()).send().await.unwrap();
    clients.autoscaling.update_auto_scaling_group().auto_scaling_group_name(format!("{p}-asg")).max_size(5).send().await.unwrap();
    let role = format!("{p}-runner-role");
    clients.iam.detach_role_policy().role_name(&role).policy_arn(&ssm_policy).send().await.unwrap();
    clients.iam.attach_role_policy().role_name(&role).policy_arn(&cw_policy).send().await.unwrap();
    let instance = live_instances(&clients, ("pulse:resource", &format!("{p}-builder"))).await[0].instance_id().unwrap().to_owned();
    clients.ec2.create_tags().resources(&instance).tags(Tag::builder().key("owner").value("someone").build()).send().await.unwrap();
    clients.ec2.stop_instances().instance_ids(&instance).send().await.unwrap();

    let drifted = plan_all(&stack, &clients).await;
    let text = drifted.to_string();
    let fields = |kind: Kind, name: String| -> Vec<String> {
        drifted.entry(&id(kind, name)).unwrap().change.fields().iter().map(|f| f.field.clone()).collect()
    };
    assert_eq!(fields(Kind::DedicatedHost, format!("{p}-hosts")), ["AutoPlacement"], "{text}");
    assert_eq!(fields(Kind::LaunchTemplate, lt_name.clone()), ["LaunchTemplateData"], "{text}");
    assert_eq!(fields(Kind::AutoScalingGroup, format!("{p}-asg")), ["MaxSize"], "{text}");
    assert_eq!(fields(Kind::IAMInstanceProfile, format!("{p}-runner")), ["ManagedPolicyArns"], "{text}");
    assert_eq!(fields(Kind::EC2Instance, format!("{p}-builder")), ["StoppedInstances", "Tags"], "{text}");
    assert!(text.contains("AutoPlacement: mixed → on"), "{text}");
    assert!(text.contains("LaunchTemplateData.InstanceType: t3.large → t3.micro"), "{text}");
    assert!(text.contains("MaxSize: 5 → 2"), "{text}");
    assert!(text.contains("Tags.owner: someone → ci"), "{text}");
    assert_eq!(drifted.summary().update, 5);

    let before = clients.api_calls();
    let report = apply(&drifted, &clients, |_| {}).await.expect("repair");
    assert_eq!(report.updated.len(), 5);
    let writes = clients.api_calls().since(&before);
    assert!(!writes.by_operation.contains_key("ec2:RunInstances"), "drift repair launches nothing: {writes:?}");

    // The launch template got a new version (the drifted one stays, to roll back to) and it is the default.
    let lt = clients.ec2.describe_launch_templates().launch_template_names(&lt_name).send().await.unwrap();
    let lt = &lt.launch_templates()[0];
    assert_eq!((lt.latest_version_number(), lt.default_version_number()), (Some(3), Some(3)));
    let host_now = clients.ec2.describe_hosts().host_ids(&host).send().await.unwrap();
    assert_eq!(host_now.hosts()[0].auto_placement(), Some(&AutoPlacement::On));
    let attached = clients.iam.list_attached_role_policies().role_name(&role).send().await.unwrap();
    assert_eq!(attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect::<Vec<_>>(), [ssm_policy.as_str()]);
    let i = live_instances(&clients, ("pulse:resource", &format!("{p}-builder"))).await;
    let repaired = i.iter().find(|x| x.instance_id() == Some(instance.as_str())).unwrap();
    assert_eq!(tag(repaired.tags(), "owner"), Some("ci"));
    assert_ne!(repaired.state().and_then(|s| s.name()).map(|n| n.as_str()), Some("stopped"));

    let after = plan_all(&stack, &clients).await;
    assert!(!after.has_changes(), "{after}");
}

#[tokio::test]
async fn only_plans_and_deploys_the_named_kinds() {
    let clients = clients().await;
    let p = unique("fo");
    let (_, subnet_a, _) = vpc(&clients, &format!("{p}-vpc")).await;
    let (ssm_policy, _) = policies(&clients, &p).await;
    let stack = load(&fleet(&p, &subnet_a, &ssm_policy), &p);
    let only = plan(&stack, &clients, &PlanOptions::only([Kind::LaunchTemplate, Kind::AutoScalingGroup])).await.unwrap();
    let kinds: Vec<Kind> = only.entries.iter().map(|e| e.id.kind).collect();
    assert_eq!(kinds, [Kind::LaunchTemplate, Kind::AutoScalingGroup]);
    assert!(only.to_string().contains("only LaunchTemplate, AutoScalingGroup"));
    apply(&only, &clients, |_| {}).await.unwrap();
    assert!(owned_hosts(&clients, &p).await.is_empty(), "no host was allocated");
    assert!(live_instances(&clients, ("pulse:stack", &p)).await.is_empty(), "no instance was launched");
    let full = plan_all(&stack, &clients).await;
    let s = full.summary();
    assert_eq!((s.create, s.no_change), (3, 2), "{full}");
}

#[tokio::test]
async fn a_failed_deploy_lists_the_resources_already_changed() {
    let clients = clients().await;
    let p = unique("ff");
    let stack = load(
        &json!({"resources": [
            {"kind": "LaunchTemplate", "name": format!("{p}-lt"), "image_id": AMI, "instance_type": "t3.micro"},
            {"kind": "AutoScalingGroup", "name": format!("{p}-asg"), "vpc_name": format!("{p}-no-such-vpc"),
             "launch_template_name": format!("{p}-lt"), "max_size": 1}
        ]}),
        &p,
    );
    let plan = plan_all(&stack, &clients).await;
    let mut lines = Vec::new();
    let err = apply(&plan, &clients, |p| lines.push(p.to_string())).await.unwrap_err();
    assert_eq!(err.failed, id(Kind::AutoScalingGroup, format!("{p}-asg")));
    let text = err.to_string();
    assert!(text.contains("no VPC has this Name tag"), "{text}");
    assert!(text.contains(&format!("Already changed (1): LaunchTemplate {p}-lt")), "{text}");
    assert!(lines[0].contains("created") && lines[1].contains("FAILED"), "{lines:?}");
}

#[tokio::test]
async fn the_macos_example_deploys_end_to_end() {
    let clients = clients().await;
    // The example names its VPC `ci-cd`, as the seed does: reuse it when an earlier run made it.
    let existing = clients.ec2.describe_vpcs().filters(Filter::builder().name("tag:Name").values("ci-cd").build()).send().await.unwrap();
    let subnet_a = match existing.vpcs().first() {
        Some(v) => {
            let s = clients
                .ec2
                .describe_subnets()
                .filters(Filter::builder().name("vpc-id").values(v.vpc_id().unwrap()).build())
                .filters(Filter::builder().name("availability-zone").values("us-east-1a").build())
                .send()
                .await
                .unwrap();
            s.subnets()[0].subnet_id().unwrap().to_owned()
        }
        None => vpc(&clients, "ci-cd").await.1,
    };
    let p = unique("mac");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/examples/macos-fleet.json");
    let stack = StackConfig::load(path, &LoadOptions::new(&p)).expect("the example loads");

    let first = plan_all(&stack, &clients).await;
    let kinds: Vec<(Kind, Change)> = first.entries.iter().map(|e| (e.id.kind, e.change.clone())).collect();
    assert_eq!(
        kinds,
        [(Kind::DedicatedHost, Change::Create), (Kind::LaunchTemplate, Change::Create), (Kind::AutoScalingGroup, Change::Create)]
    );
    apply(&first, &clients, |_| {}).await.expect("deploy the example");

    let hosts = owned_hosts(&clients, &p).await;
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].availability_zone(), Some("us-east-1a"));
    assert_eq!(hosts[0].auto_placement(), Some(&AutoPlacement::On));
    assert_eq!(hosts[0].host_properties().and_then(|h| h.instance_type()), Some("mac2-m2.metal"));

    let v = clients
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(format!("{p}-mac-lt"))
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let data = v.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.placement().and_then(|p| p.tenancy()).map(|t| t.as_str()), Some("host"));
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("mac2-m2.metal"));

    let g = clients.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names(format!("{p}-mac-asg")).send().await.unwrap();
    let g = &g.auto_scaling_groups()[0];
    assert_eq!(g.vpc_zone_identifier(), Some(subnet_a.as_str()), "only the ci-cd subnet in us-east-1a");
    assert_eq!((g.min_size(), g.max_size(), g.desired_capacity()), (Some(0), Some(1), Some(0)));

    let second = plan_all(&stack, &clients).await;
    assert!(!second.has_changes(), "{second}");
    let before = clients.api_calls();
    apply(&second, &clients, |_| {}).await.unwrap();
    assert_eq!(clients.api_calls().since(&before).write, 0);

    let shut = plan_shutdown(&stack, &clients, &[Kind::DedicatedHost]).await.unwrap();
    shutdown(&shut, &clients, |_| {}).await.unwrap();
    assert!(owned_hosts(&clients, &p).await.is_empty());
}

#[tokio::test]
async fn instances_scale_in_place_and_an_image_change_is_refused_with_a_way_out() {
    let clients = clients().await;
    let p = unique("fq");
    let name = format!("{p}-box");
    let declare = |quantity: u32, image: &str| json!({"resources": [{"kind": "EC2Instance", "name": name, "quantity": quantity, "image_id": image, "instance_type": "t3.micro"}]});
    deploy(&load(&declare(3, AMI), &p), &clients).await;
    assert_eq!(live_instances(&clients, ("pulse:stack", &p)).await.len(), 3);

    let fewer = plan_all(&load(&declare(1, AMI), &p), &clients).await;
    assert!(fewer.to_string().contains("Quantity: 3 → 1"), "{fewer}");
    let before = clients.api_calls();
    apply(&fewer, &clients, |_| {}).await.unwrap();
    let calls = clients.api_calls().since(&before);
    assert_eq!(calls.writes(), ["ec2:TerminateInstances"], "{calls:?}");
    assert_eq!(live_instances(&clients, ("pulse:stack", &p)).await.len(), 1);

    let other_image = plan_all(&load(&declare(1, "ami-0000000000000dead"), &p), &clients).await;
    let err = apply(&other_image, &clients, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("ImageId of the running instances is ami-12c6146b but ami-0000000000000dead is declared"), "{err}");
    assert!(err.contains("pulse infra shutdown --only EC2Instance"), "{err}");
}

#[tokio::test]
async fn a_same_named_resource_someone_else_made_is_not_taken_over() {
    let clients = clients().await;
    let p = unique("fx");
    let lt = format!("{p}-lt");
    clients
        .ec2
        .create_launch_template()
        .launch_template_name(&lt)
        .launch_template_data(RequestLaunchTemplateData::builder().image_id(AMI).build())
        .send()
        .await
        .unwrap();
    let stack = load(&json!({"resources": [{"kind": "LaunchTemplate", "name": lt, "image_id": AMI, "instance_type": "t3.micro"}]}), &p);
    let err = plan(&stack, &clients, &PlanOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains(&format!("LaunchTemplate {lt}: exists but is not owned by stack {p} (no pulse:stack tag)")), "{err}");
}

#[tokio::test]
async fn a_host_pool_follows_its_zones_and_quantity() {
    let clients = clients().await;
    let p = unique("fh");
    let pool = |zones: Value| {
        let mut r = json!({"kind": "DedicatedHost", "name": format!("{p}-pool"), "instance_type": "mac2.metal", "auto_placement": "on"});
        match zones {
            Value::Bool(true) => r["all_availability_zones"] = json!(true),
            zones => {
                r["availability_zones"] = zones;
                r["quantity_per_az"] = json!(2);
            }
        }
        json!({"resources": [r]})
    };
    let zones = clients.ec2.describe_availability_zones().send().await.unwrap().availability_zones().len();
    deploy(&load(&pool(json!(true)), &p), &clients).await;
    assert_eq!(owned_hosts(&clients, &p).await.len(), zones, "one host in each of the region's {zones} zones");
    assert!(!plan_all(&load(&pool(json!(true)), &p), &clients).await.has_changes());

    // Down to one zone with two hosts: the others are released, one more is allocated.
    let narrowed = plan_all(&load(&pool(json!(["us-east-1a"])), &p), &clients).await;
    let text = narrowed.to_string();
    assert!(text.contains("HostsPerZone.us-east-1a: 1 → 2"), "{text}");
    assert!(text.contains("OtherHosts: [\"h-") && text.contains("] → []"), "{text}");
    apply(&narrowed, &clients, |_| {}).await.unwrap();
    let hosts = owned_hosts(&clients, &p).await;
    assert_eq!(hosts.len(), 2);
    assert!(hosts.iter().all(|h| h.availability_zone() == Some("us-east-1a")));
    assert!(!plan_all(&load(&pool(json!(["us-east-1a"])), &p), &clients).await.has_changes());
}
