//! `shutdown`: only what the stack owns, and a failure's report.

use pulse_infra_reconciler::sdk::ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use pulse_infra_reconciler::{Kind, plan_shutdown, shutdown};
use pulse_tests::unique;
use serde_json::json;

use super::{AMI, clients, deploy, id, live_instances, load, owned_hosts};

#[tokio::test]
async fn shutdown_terminates_and_releases_only_what_the_stack_owns() {
    let clients = clients().await;
    let p = unique("fs");
    let name = format!("{p}-builder");
    let stack = load(
        &json!({"resources": [
            {"kind": "EC2Instance", "name": name, "quantity": 2, "image_id": AMI, "instance_type": "t3.micro"},
            {"kind": "DedicatedHost", "name": format!("{p}-hosts"), "availability_zones": ["us-east-1a"],
             "instance_type": "mac2.metal", "auto_placement": "on", "quantity_per_az": 2}
        ]}),
        &p,
    );
    deploy(&stack, &clients).await;

    // Bystanders: an untagged instance with the same Name, an instance of another stack with the
    // same resource name, and an untagged host.
    let launch = |tags: Vec<(&str, String)>| {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
        clients
            .ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .tag_specifications(spec.build())
            .send()
    };
    let untagged = launch(vec![("Name", name.clone())]).await.unwrap().instances()[0].instance_id().unwrap().to_owned();
    let other_stack =
        launch(vec![("pulse:stack", format!("{p}-other")), ("pulse:resource", name.clone()), ("pulse:kind", "EC2Instance".into())])
            .await
            .unwrap()
            .instances()[0]
            .instance_id()
            .unwrap()
            .to_owned();
    let stray_host = clients
        .ec2
        .allocate_hosts()
        .availability_zone("us-east-1a")
        .instance_type("mac2.metal")
        .quantity(1)
        .send()
        .await
        .unwrap()
        .host_ids()[0]
        .clone();

    let owned: Vec<String> =
        live_instances(&clients, ("pulse:stack", &p)).await.iter().filter_map(|i| i.instance_id().map(str::to_owned)).collect();
    assert_eq!(owned.len(), 2);

    let before = clients.api_calls();
    let plan = plan_shutdown(&stack, &clients, &[Kind::EC2Instance]).await.unwrap();
    assert_eq!(clients.api_calls().since(&before).write, 0, "the shutdown plan only reads");
    assert_eq!(plan.targets.len(), 1);
    let mut ids = plan.targets[0].ids.clone();
    ids.sort();
    let mut want = owned.clone();
    want.sort();
    assert_eq!(ids, want);
    let text = plan.to_string();
    assert!(text.contains(&format!("terminate   EC2Instance    {name}: 2 instance(s)")), "{text}");
    assert!(!text.contains(&untagged) && !text.contains(&other_stack), "{text}");

    let mut lines = Vec::new();
    let report = shutdown(&plan, &clients, |p| lines.push(p.to_string())).await.unwrap();
    assert_eq!(report.done.len(), 1);
    assert!(lines[0].contains("terminated 2 instance(s)"), "{lines:?}");
    let state = |iid: String| {
        let clients = &clients;
        async move {
            let out = clients.ec2.describe_instances().instance_ids(iid).send().await.unwrap();
            out.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str().to_owned()
        }
    };
    for iid in &owned {
        assert!(["shutting-down", "terminated"].contains(&state(iid.clone()).await.as_str()));
    }
    assert_eq!(state(untagged).await, "running", "an untagged instance survives");
    assert_eq!(state(other_stack).await, "running", "another stack's instance survives");

    // Hosts: only the pool's two are released.
    let hosts = plan_shutdown(&stack, &clients, &[Kind::DedicatedHost]).await.unwrap();
    assert_eq!(hosts.targets[0].ids.len(), 2);
    assert!(!hosts.targets[0].ids.contains(&stray_host));
    shutdown(&hosts, &clients, |_| {}).await.unwrap();
    assert!(owned_hosts(&clients, &p).await.is_empty());
    let stray = clients.ec2.describe_hosts().host_ids(&stray_host).send().await.unwrap();
    assert_eq!(stray.hosts()[0].state().map(|s| s.as_str()), Some("available"), "an untagged host survives");

    // Nothing left: a second shutdown has nothing to do.
    let again = plan_shutdown(&stack, &clients, &[Kind::EC2Instance, Kind::DedicatedHost]).await.unwrap();
    assert!(!again.has_work(), "{again}");
    assert!(plan_shutdown(&stack, &clients, &[Kind::LaunchTemplate]).await.is_err());
}

#[tokio::test]
async fn a_failed_shutdown_lists_what_it_already_shut_down() {
    let clients = clients().await;
    let p = unique("fz");
    let stack = load(
        &json!({"resources": [
            {"kind": "EC2Instance", "name": format!("{p}-a"), "image_id": AMI, "instance_type": "t3.micro"},
            {"kind": "EC2Instance", "name": format!("{p}-b"), "image_id": AMI, "instance_type": "t3.micro"},
            {"kind": "EC2Instance", "name": format!("{p}-c"), "image_id": AMI, "instance_type": "t3.micro"}
        ]}),
        &p,
    );
    deploy(&stack, &clients).await;
    let mut plan = plan_shutdown(&stack, &clients, &[Kind::EC2Instance]).await.unwrap();
    let a = plan.targets[0].ids.clone();
    // The second resource's instance is gone (and replaced by an id EC2 does not know) by the
    // time the shutdown runs.
    plan.targets[1].ids = vec!["i-00000000000000000".to_owned()];
    let mut lines = Vec::new();
    let err = shutdown(&plan, &clients, |p| lines.push(p.to_string())).await.unwrap_err();
    assert_eq!(err.failed, id(Kind::EC2Instance, format!("{p}-b")));
    assert_eq!(err.report.done, [(id(Kind::EC2Instance, format!("{p}-a")), a.clone())]);
    assert_eq!(err.report.not_attempted, [id(Kind::EC2Instance, format!("{p}-c"))]);
    let text = err.to_string();
    assert!(text.contains(&format!("Already shut down (1): EC2Instance {p}-a ({})", a[0])), "{text}");
    assert!(lines[1].contains("FAILED") && lines[1].contains("ec2:TerminateInstances"), "{lines:?}");
    assert_eq!(live_instances(&clients, ("pulse:resource", &format!("{p}-c"))).await.len(), 1, "not attempted");
}
