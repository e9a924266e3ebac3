//! Teams and memberships, over HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn staff_make_teams_and_leaders_while_volunteers_only_read_them() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let [leader, member, outsider] = app.volunteers().await;
    let res = app
        .create_team(&outsider, &json!({"name": "Riverside"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.create_team(&staff, &json!({"name": " "})).await;
    assert_problem(res, 422, "validation-failed").await;
    let team = app
        .create_team(
            &staff,
            &json!({"name": "  Riverside ", "description": "Cleaning the banks"}),
        )
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(team["name"], "Riverside");
    assert_eq!(team["member_count"], 0);
    let t = id(&team);
    let res = app.create_team(&staff, &json!({"name": "Archive"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    for (who, role) in [(&leader, "leader"), (&member, "member")] {
        let res = app.set_member(&staff, &t, &who.id, role).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            body(res).await,
            json!({"team_id": t, "volunteer_id": who.id, "role": role})
        );
    }
    let res = app.set_member(&leader, &t, &outsider.id, "member").await;
    assert_problem(res, 403, "forbidden").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.set_member(&staff, &t, &unknown, "member")
        .expect_problem(404, "not-found")
        .await;

    // Listed by name, with member counts.
    let page = body(app.teams(&outsider, "").await).await;
    let names = each(&page["items"], "name");
    assert_eq!(names, ["Archive", "Riverside"]);
    assert_eq!(page["items"][1]["member_count"], 2);
    let one = body(app.team(&outsider, &t).await).await;
    assert_eq!(one["description"], "Cleaning the banks");

    // Members: staff and this team's leader; not a member, not an outsider.
    let members = body(app.team_members(&leader, &t).await).await;
    assert_eq!(members["items"].as_array().expect("items").len(), 2);
    assert!(members["items"][0]["phone"].is_string());
    app.team_members(&member, &t)
        .expect_problem(403, "forbidden")
        .await;
    app.team_members(&outsider, &t)
        .expect_problem(403, "forbidden")
        .await;
    app.team_members(&staff, &unknown)
        .expect_problem(404, "not-found")
        .await;

    // Me.teams shows the role.
    let me = body(app.me(&leader).await).await;
    assert_eq!(
        me["teams"],
        json!([{"team_id": t, "name": "Riverside", "role": "leader"}])
    );

    // Removal takes effect at once: no longer a leader.
    app.remove_member(&staff, &t, &leader.id)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    app.team_members(&leader, &t)
        .expect_problem(403, "forbidden")
        .await;
    let me = body(app.me(&leader).await).await;
    assert_eq!(me["teams"], Value::Array(vec![]));
    // Removing them again changes nothing (204); someone who does not exist is 404.
    app.remove_member(&staff, &t, &leader.id)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    app.remove_member(&staff, &t, &uuid::Uuid::new_v4().to_string())
        .expect_problem(404, "not-found")
        .await;
}

#[actix_web::test]
async fn a_volunteer_or_another_teams_leader_asking_for_members_is_refused_with_403_before_a_bad_limit(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let [leader, member, other] = app.volunteers().await;
    let t = app.team_with(&staff, &leader, "leader").await;
    app.team_with(&staff, &other, "leader").await;
    let res = app.set_member(&staff, &t, &member.id, "member").await;
    assert_eq!(res.status(), StatusCode::OK);
    let path = format!("/teams/{t}/members?limit=0");
    app.get(&path, &member.token)
        .expect_problem(403, "forbidden")
        .await;
    app.get(&path, &other.token)
        .expect_problem(403, "forbidden")
        .await;
    app.get(&path, &leader.token)
        .expect_problem(422, "validation-failed")
        .await;
    let path = format!("/teams/{t}/members?limit=1");
    let page = body(app.get(&path, &leader.token).await).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert!(page["next_cursor"].is_string());
}

#[actix_web::test]
async fn a_keyed_team_refused_for_its_name_is_kept_and_replayed() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    app.assert_refusal_kept(&staff, "/teams", "team-1", &json!({"name": "  "}))
        .await;
    let res = app
        .post_keyed(
            "/teams",
            &staff.token,
            "team-1",
            &json!({"name": "Riverside"}),
        )
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;
}
