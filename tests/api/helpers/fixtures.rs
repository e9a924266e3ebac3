//! The steps tests arrange with: each must succeed, asserts so, and answers what the test goes on
//! with (an id, a body, a number). Activity times are fixed (`base()`) and the clock is manual.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use volunteer_points::domain::people::Role;

use super::{body, Answer, TestApp, TestUser};

/// A fixed start for the manual clock: tests move it by hand.
pub fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:10Z")
        .expect("a time")
        .with_timezone(&Utc)
}

/// The time an RFC 3339 text names (`time("2026-11-10T02:00:00Z")`).
pub fn time(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("an RFC 3339 time")
}

/// `t` as the API writes times.
pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The `id` of a JSON object.
pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The fields of an adjustment of `amount` points for `volunteer`.
pub fn adjustment(volunteer: &str, amount: i64) -> Value {
    json!({"volunteer_id": volunteer, "amount": amount, "reason": "test adjustment"})
}

/// The fields of a reward called `name` at `cost_points` a unit, `stock` units in stock.
pub fn stocked(name: &str, cost_points: i64, stock: i64) -> Value {
    json!({"name": name, "cost_points": cost_points, "stock": stock})
}

impl TestApp {
    /// Who a rewards test starts with: (an admin who grants points, staff who run the desk, a
    /// volunteer holding `points`).
    pub async fn shop(&self, points: i64) -> (TestUser, TestUser, TestUser) {
        let admin = self.admin().await;
        let staff = self.staff().await;
        let volunteer = self.volunteer_with(&admin, points).await;
        (admin, staff, volunteer)
    }

    /// `N` newly registered, signed-in volunteers, one after another:
    /// `let [leader, member] = app.volunteers().await`.
    pub async fn volunteers<const N: usize>(&self) -> [TestUser; N] {
        let mut all = Vec::with_capacity(N);
        for _ in 0..N {
            all.push(self.volunteer().await);
        }
        all.try_into().expect("N volunteers")
    }

    /// Another session of `who`: signed in again, with tokens of its own.
    pub async fn signed_in_again(&self, who: &TestUser) -> TestUser {
        let auth = self
            .login(&who.phone, &who.password)
            .expect_json(StatusCode::OK)
            .await;
        TestUser {
            token: auth["access_token"].as_str().expect("token").to_owned(),
            refresh_token: auth["refresh_token"].as_str().expect("refresh").to_owned(),
            ..who.clone()
        }
    }

    /// The community office the report and export tests start with: (the social worker 社工, staff
    /// who record, and the director 主任, an admin who approves).
    pub async fn office(&self) -> (TestUser, TestUser) {
        let staff = self.user_named(Role::Staff, "社工").await;
        let admin = self.user_named(Role::Admin, "主任").await;
        (staff, admin)
    }

    /// Gives `volunteer` points through an admin adjustment.
    pub async fn grant(&self, admin: &TestUser, volunteer: &str, amount: i64) {
        let key = uuid::Uuid::new_v4().to_string();
        let fields = json!({"volunteer_id": volunteer, "amount": amount, "reason": "test grant"});
        self.adjust(admin, &key, &fields)
            .expect_json(StatusCode::CREATED)
            .await;
    }

    /// A new volunteer granted `points` by `admin`.
    pub async fn volunteer_with(&self, admin: &TestUser, points: i64) -> TestUser {
        let volunteer = self.volunteer().await;
        self.grant(admin, &volunteer.id, points).await;
        volunteer
    }

    /// The balance of `who` as their own `/me/balance` shows it.
    pub async fn balance(&self, who: &TestUser) -> i64 {
        self.balance_sheet(who).await["balance"]
            .as_i64()
            .expect("balance")
    }

    /// The whole `/me/balance` of `who` (pending points, minutes served...).
    pub async fn balance_sheet(&self, who: &TestUser) -> Value {
        self.my_balance(who).expect_json(StatusCode::OK).await
    }

    /// Publishes an activity from `base()` to two hours later at 60 points an hour, with `extra`
    /// fields on top; returns it.
    pub async fn publish(&self, who: &TestUser, extra: Value) -> Value {
        let mut fields = json!({
            "title": "Park clean-up",
            "starts_at": rfc(base()),
            "ends_at": rfc(base() + TimeDelta::hours(2)),
            "points_per_hour": 60,
        });
        if let (Some(into), Some(from)) = (fields.as_object_mut(), extra.as_object()) {
            for (k, v) in from {
                into.insert(k.clone(), v.clone());
            }
        }
        self.create_activity(who, &fields)
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// The id of a plain activity (`publish` with nothing extra), published at `base()`.
    pub async fn an_activity(&self, who: &TestUser) -> String {
        self.set_time(base());
        id(&self.publish(who, json!({})).await)
    }

    /// The current check-in code, as staff or a leader reads it.
    pub async fn code(&self, who: &TestUser, activity: &str) -> String {
        let shown = self
            .check_in_code(who, activity)
            .expect_json(StatusCode::OK)
            .await;
        shown["code"].as_str().expect("code").to_owned()
    }

    /// `volunteer` checked in to `activity` with the code `manager` shows now; returns the log.
    pub async fn checked_in(
        &self,
        manager: &TestUser,
        volunteer: &TestUser,
        activity: &str,
    ) -> Value {
        let code = self.code(manager, activity).await;
        self.check_in(volunteer, activity, &code)
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// `volunteer` checked out of `activity`; returns the submitted log.
    pub async fn checked_out(&self, volunteer: &TestUser, activity: &str) -> Value {
        self.check_out(volunteer, activity)
            .expect_json(StatusCode::OK)
            .await
    }

    /// A submitted log of `volunteer` at a fresh activity of `manager`, checked in at the start and
    /// out `minutes` later (60 points an hour, so `minutes` points proposed): (activity, log).
    pub async fn submitted_log(
        &self,
        manager: &TestUser,
        volunteer: &TestUser,
        extra: Value,
        minutes: i64,
    ) -> (String, String) {
        self.set_time(base());
        let activity = id(&self.publish(manager, extra).await);
        self.checked_in(manager, volunteer, &activity).await;
        self.clock.advance(TimeDelta::minutes(minutes));
        let log = self.checked_out(volunteer, &activity).await;
        assert_eq!(log["status"], "submitted");
        assert_eq!(log["points_proposed"], minutes);
        (activity, id(&log))
    }

    /// A new team (named Riverside) of `staff`'s with `who` as its `role`; returns its id.
    pub async fn team_with(&self, staff: &TestUser, who: &TestUser, role: &str) -> String {
        let team = id(&self
            .create_team(staff, &json!({"name": "Riverside"}))
            .expect_json(StatusCode::CREATED)
            .await);
        self.set_member(staff, &team, &who.id, role)
            .expect_json(StatusCode::OK)
            .await;
        team
    }

    /// A team `staff` created under this name; returns its id.
    pub async fn team_named(&self, staff: &TestUser, name: &str) -> String {
        id(&self
            .create_team(staff, &json!({"name": name}))
            .expect_json(StatusCode::CREATED)
            .await)
    }

    /// `leader` made the leader of `team` by `staff`.
    pub async fn lead(&self, staff: &TestUser, team: &str, leader: &TestUser) {
        self.set_member(staff, team, &leader.id, "leader")
            .expect_status(StatusCode::OK)
            .await;
    }

    /// An activity (of `team`, if given) that starts at the clock's now and lasts 3 hours, at 60
    /// points an hour; returns its id.
    pub async fn activity_now(&self, staff: &TestUser, team: Option<&str>, title: &str) -> String {
        let start = self.clock.now();
        let fields = json!({
            "title": title, "team_id": team, "points_per_hour": 60,
            "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(3)),
        });
        id(&self
            .create_activity(staff, &fields)
            .expect_json(StatusCode::CREATED)
            .await)
    }

    /// `minutes` of `volunteer` at `activity`, recorded by `recorder` and approved by `approver`
    /// (60 points an hour: `minutes` points); returns the log's id.
    pub async fn served(
        &self,
        recorder: &TestUser,
        approver: &TestUser,
        activity: &str,
        volunteer: &TestUser,
        minutes: i64,
    ) -> String {
        let log = id(&self
            .record_attendance(recorder, activity, volunteer, minutes)
            .expect_json(StatusCode::CREATED)
            .await);
        self.approve(approver, &log)
            .expect_status(StatusCode::OK)
            .await;
        log
    }

    /// A reward `staff` created with these fields; returns it.
    pub async fn reward(&self, staff: &TestUser, fields: Value) -> Value {
        self.create_reward(staff, &fields)
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// A redemption that must succeed; returns it.
    pub async fn redeemed(&self, who: &TestUser, fields: &Value) -> Value {
        self.redeem(who, fields)
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// A partner `staff` created under this name; returns its id.
    pub async fn a_partner(&self, staff: &TestUser, name: &str) -> String {
        let fields = json!({"name": name, "kind": "social-enterprise"});
        id(&self
            .create_partner(staff, &fields)
            .expect_json(StatusCode::CREATED)
            .await)
    }

    /// The stock of a reward as `staff` read it.
    pub async fn stock_of(&self, staff: &TestUser, reward: &str) -> Value {
        body(self.get_reward(staff, reward).await).await["stock"].clone()
    }

    /// A donation of `amount` by `who` under a fresh key that must succeed; returns the
    /// transaction.
    pub async fn donated(&self, who: &TestUser, amount: i64) -> Value {
        let key = uuid::Uuid::new_v4().to_string();
        self.donate(who, &key, &json!({"amount": amount}))
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// The fund's figures as `who` reads them.
    pub async fn fund_figures(&self, who: &TestUser) -> Value {
        self.fund(who).expect_json(StatusCode::OK).await
    }

    /// An open wish of `points` that `staff` recorded (a winter coat for [`FAMILY`]); returns it.
    pub async fn open_wish(&self, staff: &TestUser, points: i64) -> Value {
        let fields = json!({"title": "A winter coat", "beneficiary": FAMILY, "points": points});
        self.create_wish(staff, &fields)
            .expect_json(StatusCode::CREATED)
            .await
    }

    /// A wish `staff` recorded and `adopter` adopted and fulfilled; returns its id.
    pub async fn fulfilled_wish(
        &self,
        staff: &TestUser,
        adopter: &TestUser,
        points: i64,
    ) -> String {
        let wish = id(&self.open_wish(staff, points).await);
        self.adopt_wish(adopter, &wish)
            .expect_status(StatusCode::OK)
            .await;
        self.fulfil_wish(adopter, &wish, "delivered")
            .expect_status(StatusCode::OK)
            .await;
        wish
    }
}

/// The beneficiary of the wishes tests record.
pub const FAMILY: &str = "王奶奶, 3 栋 201, 138 0000 0000";

/// Counts statuses, asserting each refusal is a 409 carrying `code`: (won, refused).
pub async fn tally(responses: Vec<Response>, ok: u16, code: &str) -> (usize, usize) {
    let (mut won, mut refused) = (0, 0);
    for res in responses {
        if res.status().as_u16() == ok {
            won += 1;
        } else {
            super::assert_problem(res, 409, code).await;
            refused += 1;
        }
    }
    (won, refused)
}
