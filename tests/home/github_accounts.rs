//! GitHub accounts linked to a subscription (`/praktika github add ID+login`): stored, announced,
//! a membership of the account's noreply feed, its runs merged into the Home tab (a run in both
//! feeds shown once), and unlinking undoes all of it.

use pulse_contracts::{CommandAction, GithubAccount};
use pulse_home_renderer::testing;

use crate::harness::{Home, handle};

const ALICE: &str = "alice@clickhouse.com";
const NOREPLY: &str = "4810027+alice-ch@users.noreply.github.com";

fn account() -> GithubAccount {
    GithubAccount { id: 4810027, login: "alice-ch".into() }
}

fn link(home: &Home, user: &str, response: &str) -> pulse_contracts::Envelope<pulse_contracts::Event> {
    home.command(user, "github add 4810027+alice-ch", CommandAction::GithubLink { account: account() }, response)
}

#[tokio::test]
async fn a_linked_account_s_feed_is_followed_merged_into_the_home_tab_and_unlinked_again() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let store = home.store();

    // Not subscribed yet: told to subscribe first, nothing stored.
    handle(&renderer, &link(&home, "U1", "early")).await.unwrap();
    assert!(home.replies("early")[0].contains("`/praktika subscribe [email]` first"), "{:?}", home.replies("early"));
    assert!(home.item("U1").await.is_none());

    handle(&renderer, &home.subscribe("U1", &format!("subscribe {ALICE}"), Some(ALICE), "sub")).await.unwrap();
    let envelope = link(&home, "U1", "link");
    assert_eq!(envelope.version, 3, "ingress publishes the GitHub actions as slack.command v3");
    handle(&renderer, &envelope).await.unwrap();
    let reply = &home.replies("link")[0];
    assert!(reply.contains("also follow the GitHub account *alice-ch*"), "{reply}");

    // Stored on the subscription, a membership of the noreply feed, announced with revision 2.
    let item = home.item("U1").await.unwrap();
    let linked: Vec<&str> = item["github"].as_l().unwrap().iter().map(|v| v.as_s().unwrap().as_str()).collect();
    assert_eq!(linked, ["4810027+alice-ch"]);
    assert_eq!(store.subscribers(NOREPLY).await.unwrap(), ["U1"]);
    assert_eq!(store.subscribers(ALICE).await.unwrap(), ["U1"]);
    let announced = home.announcements(2).await;
    let last = announced.iter().max_by_key(|a| a.revision).unwrap();
    assert_eq!((last.revision, last.github.clone()), (2, vec![account()]));

    // The same link again changes nothing and says so.
    handle(&renderer, &link(&home, "U1", "again")).await.unwrap();
    assert!(home.replies("again")[0].contains("already follow"), "{:?}", home.replies("again"));

    // Alice's own feed has PR 7; the account's has PR 7 again (she triggered it: a newer state
    // of the same run) and PR 9, a colleague's commit whose run she triggered.
    let now = chrono::Utc::now().timestamp();
    let mut older = testing::event(7, now - 300, None);
    older.ci_status = pulse_contracts::praktika::Status::new("RUNNING");
    handle(&renderer, &home.write_feed(ALICE, vec![older]).await).await.unwrap();
    let newer = testing::event(7, now - 120, None);
    let triggered = testing::event(9, now - 60, None);
    handle(&renderer, &home.write_feed(NOREPLY, vec![triggered, newer]).await).await.unwrap();

    let text = home.home_text("U1");
    assert!(text.contains("Improve thing number 9"), "the triggered run is shown: {text}");
    assert_eq!(text.matches("Improve thing number 7").count(), 1, "one run in two feeds is shown once: {text}");
    assert!(text.contains("and GitHub *alice-ch*"), "the footer names the account: {text}");

    // Unlinked: the membership goes, the Home tab shows Alice's feed only.
    let unlink = home.command("U1", "github remove alice-ch", CommandAction::GithubUnlink { login: "alice-ch".into() }, "unlink");
    handle(&renderer, &unlink).await.unwrap();
    assert!(home.replies("unlink")[0].contains("no longer follow the GitHub account *alice-ch*"), "{:?}", home.replies("unlink"));
    assert!(store.subscribers(NOREPLY).await.unwrap().is_empty());
    assert!(!home.item("U1").await.unwrap().contains_key("github"));
    let text = home.home_text("U1");
    assert!(!text.contains("Improve thing number 9") && text.contains("Improve thing number 7"), "{text}");
}
