//! One request helper per endpoint, named for what the caller does: `app.approve(&staff, &log)`.
//! Each answers the raw response, so a test asserts its status, problem or body; the fixtures
//! build on these for the steps that must succeed.

use reqwest::Response;
use serde_json::{json, Value};

use super::{TestApp, TestUser};

/// `path` with `query` (`status=submitted`), or bare when `query` is empty.
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

impl TestApp {
    /// `POST {path}` with an empty body: a move that needs no fields (enrol, adopt, cancel...).
    async fn post_empty(&self, path: &str, who: &TestUser) -> Response {
        self.post(path, &who.token, &json!({})).await
    }

    /// `POST {path}` with `{"reason": reason}`: a reject, reverse or cancel that says why.
    async fn post_reason(&self, path: &str, who: &TestUser, reason: &str) -> Response {
        self.post(path, &who.token, &json!({"reason": reason}))
            .await
    }

    // Auth and people.

    /// `POST /auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        let body = json!({"refresh_token": refresh_token});
        self.post_anonymously("/auth/refresh", &body).await
    }

    /// `GET /me`.
    pub async fn me(&self, who: &TestUser) -> Response {
        self.get("/me", &who.token).await
    }

    /// `PUT /volunteers/{volunteer}/password`: a reset at the desk.
    pub async fn reset_password(
        &self,
        who: &TestUser,
        volunteer: &str,
        password: &str,
    ) -> Response {
        self.put(
            &format!("/volunteers/{volunteer}/password"),
            &who.token,
            &json!({"password": password}),
        )
        .await
    }

    /// `GET /volunteers/{volunteer}`: a person's record.
    pub async fn person(&self, who: &TestUser, volunteer: &str) -> Response {
        self.get(&format!("/volunteers/{volunteer}"), &who.token)
            .await
    }

    /// `POST /volunteers`: someone registered at the desk.
    pub async fn register_at_desk(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/volunteers", &who.token, fields).await
    }

    /// `PUT /volunteers/{volunteer}/role`.
    pub async fn set_role(&self, who: &TestUser, volunteer: &str, role: &str) -> Response {
        self.put(
            &format!("/volunteers/{volunteer}/role"),
            &who.token,
            &json!({"role": role}),
        )
        .await
    }

    /// `PUT /me/password` from `current` to `new`.
    pub async fn change_my_password(&self, who: &TestUser, current: &str, new: &str) -> Response {
        self.put(
            "/me/password",
            &who.token,
            &json!({"current_password": current, "new_password": new}),
        )
        .await
    }

    // Teams.

    /// `POST /teams`.
    pub async fn create_team(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/teams", &who.token, fields).await
    }

    /// `PUT /teams/{team}/members/{volunteer}`.
    pub async fn set_member(
        &self,
        who: &TestUser,
        team: &str,
        volunteer: &str,
        role: &str,
    ) -> Response {
        self.put(
            &format!("/teams/{team}/members/{volunteer}"),
            &who.token,
            &json!({"role": role}),
        )
        .await
    }

    /// `DELETE /teams/{team}/members/{volunteer}`.
    pub async fn remove_member(&self, who: &TestUser, team: &str, volunteer: &str) -> Response {
        self.delete(&format!("/teams/{team}/members/{volunteer}"), &who.token)
            .await
    }

    /// `GET /teams/{team}`.
    pub async fn team(&self, who: &TestUser, team: &str) -> Response {
        self.get(&format!("/teams/{team}"), &who.token).await
    }

    /// `GET /teams?{query}` (an empty `query` asks for none).
    pub async fn teams(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/teams", query), &who.token).await
    }

    /// `GET /volunteers?{query}`: the people staff look up.
    pub async fn people(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/volunteers", query), &who.token)
            .await
    }

    /// `POST /volunteers/import?dry_run=` with a CSV file as the body.
    pub async fn import_volunteers(
        &self,
        who: &TestUser,
        file: impl Into<Vec<u8>>,
        dry_run: bool,
    ) -> Response {
        self.client
            .post(self.url(&format!("/volunteers/import?dry_run={dry_run}")))
            .bearer_auth(&who.token)
            .header("Content-Type", "text/csv")
            .body(file.into())
            .send()
            .await
            .expect("the request is sent")
    }

    /// `GET /teams/{team}/members`.
    pub async fn team_members(&self, who: &TestUser, team: &str) -> Response {
        self.get(&format!("/teams/{team}/members"), &who.token)
            .await
    }

    // Activities.

    /// `POST /activities`.
    pub async fn create_activity(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/activities", &who.token, fields).await
    }

    /// `GET /activities?{query}` (an empty `query` asks for none).
    pub async fn activities(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/activities", query), &who.token)
            .await
    }

    /// `GET /activities/{activity}`.
    pub async fn activity(&self, who: &TestUser, activity: &str) -> Response {
        self.get(&format!("/activities/{activity}"), &who.token)
            .await
    }

    /// `PATCH /activities/{activity}`.
    pub async fn edit_activity(&self, who: &TestUser, activity: &str, fields: &Value) -> Response {
        self.patch(&format!("/activities/{activity}"), &who.token, fields)
            .await
    }

    /// `POST /activities/{activity}/cancel`.
    pub async fn cancel_activity(&self, who: &TestUser, activity: &str) -> Response {
        self.post_empty(&format!("/activities/{activity}/cancel"), who)
            .await
    }

    /// `POST /activities/{activity}/enrollment`.
    pub async fn enrol(&self, who: &TestUser, activity: &str) -> Response {
        self.post_empty(&format!("/activities/{activity}/enrollment"), who)
            .await
    }

    /// `DELETE /activities/{activity}/enrollment`.
    pub async fn unenrol(&self, who: &TestUser, activity: &str) -> Response {
        self.delete(&format!("/activities/{activity}/enrollment"), &who.token)
            .await
    }

    // Check-in.

    /// `GET /activities/{activity}/check-in-code`.
    pub async fn check_in_code(&self, who: &TestUser, activity: &str) -> Response {
        self.get(&format!("/activities/{activity}/check-in-code"), &who.token)
            .await
    }

    /// `GET /activities/{activity}/check-in-code.svg`.
    pub async fn check_in_qr_code(&self, who: &TestUser, activity: &str) -> Response {
        self.get(
            &format!("/activities/{activity}/check-in-code.svg"),
            &who.token,
        )
        .await
    }

    /// `POST /activities/{activity}/check-in` with `code`.
    pub async fn check_in(&self, who: &TestUser, activity: &str, code: &str) -> Response {
        self.check_in_with(who, activity, &json!({"code": code}))
            .await
    }

    /// `POST /activities/{activity}/check-in` with this body (a location, say).
    pub async fn check_in_with(&self, who: &TestUser, activity: &str, fields: &Value) -> Response {
        self.post(
            &format!("/activities/{activity}/check-in"),
            &who.token,
            fields,
        )
        .await
    }

    /// `POST /activities/{activity}/check-out`.
    pub async fn check_out(&self, who: &TestUser, activity: &str) -> Response {
        self.check_out_with(who, activity, &json!({})).await
    }

    /// `POST /activities/{activity}/check-out` with this body (a location, say).
    pub async fn check_out_with(&self, who: &TestUser, activity: &str, fields: &Value) -> Response {
        self.post(
            &format!("/activities/{activity}/check-out"),
            &who.token,
            fields,
        )
        .await
    }

    // Activity logs.

    /// `POST /activity-logs`: `minutes` of `volunteer` at `activity`, recorded at the desk.
    pub async fn record_attendance(
        &self,
        who: &TestUser,
        activity: &str,
        volunteer: &TestUser,
        minutes: i64,
    ) -> Response {
        let fields =
            json!({"activity_id": activity, "volunteer_id": volunteer.id, "minutes": minutes});
        self.record_attendance_with(who, &fields).await
    }

    /// `POST /activity-logs` with this body (a note, say).
    pub async fn record_attendance_with(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/activity-logs", &who.token, fields).await
    }

    /// `GET /activity-logs?{query}`: the approval queue (an empty `query` asks for none).
    pub async fn approval_queue(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/activity-logs", query), &who.token)
            .await
    }

    /// `GET /me/activity-logs?{query}`.
    pub async fn my_logs(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/me/activity-logs", query), &who.token)
            .await
    }

    /// `POST /activity-logs/{log}/approve` with the proposed points.
    pub async fn approve(&self, who: &TestUser, log: &str) -> Response {
        self.approve_with(who, log, &json!({})).await
    }

    /// `POST /activity-logs/{log}/approve` with `{points?, note?}`.
    pub async fn approve_with(&self, who: &TestUser, log: &str, fields: &Value) -> Response {
        self.post(&format!("/activity-logs/{log}/approve"), &who.token, fields)
            .await
    }

    /// `POST /activity-logs/{log}/reject`.
    pub async fn reject(&self, who: &TestUser, log: &str, reason: &str) -> Response {
        self.post_reason(&format!("/activity-logs/{log}/reject"), who, reason)
            .await
    }

    /// `POST /activity-logs/{log}/reverse`.
    pub async fn reverse(&self, who: &TestUser, log: &str, reason: &str) -> Response {
        self.post_reason(&format!("/activity-logs/{log}/reverse"), who, reason)
            .await
    }

    /// `POST /activity-logs/bulk-approve` with these ids.
    pub async fn bulk_approve(&self, who: &TestUser, ids: &Value) -> Response {
        self.post(
            "/activity-logs/bulk-approve",
            &who.token,
            &json!({"ids": ids}),
        )
        .await
    }

    // Points.

    /// `GET /me/balance`.
    pub async fn my_balance(&self, who: &TestUser) -> Response {
        self.get("/me/balance", &who.token).await
    }

    /// `GET /me/ledger?{query}` (an empty `query` asks for none).
    pub async fn my_ledger(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/me/ledger", query), &who.token).await
    }

    /// `GET /volunteers/{volunteer}/{what}`: their `balance` or `ledger`, as `who` asks.
    pub async fn points_of(&self, who: &TestUser, volunteer: &str, what: &str) -> Response {
        self.get(&format!("/volunteers/{volunteer}/{what}"), &who.token)
            .await
    }

    /// `GET /ledger/transactions/{transaction}`.
    pub async fn transaction(&self, who: &TestUser, transaction: &str) -> Response {
        self.get(&format!("/ledger/transactions/{transaction}"), &who.token)
            .await
    }

    /// `POST /ledger/adjustments` under `key`.
    pub async fn adjust(&self, who: &TestUser, key: &str, fields: &Value) -> Response {
        self.post_keyed("/ledger/adjustments", &who.token, key, fields)
            .await
    }

    /// `GET /ledger/verify`.
    pub async fn verify_over_http(&self, who: &TestUser) -> Response {
        self.get("/ledger/verify", &who.token).await
    }

    // Rewards and redemptions.

    /// `POST /rewards`.
    pub async fn create_reward(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/rewards", &who.token, fields).await
    }

    /// `PATCH /rewards/{reward}`.
    pub async fn edit_reward(&self, who: &TestUser, reward: &str, fields: &Value) -> Response {
        self.patch(&format!("/rewards/{reward}"), &who.token, fields)
            .await
    }

    /// `POST /redemptions` under a fresh key.
    pub async fn redeem(&self, who: &TestUser, fields: &Value) -> Response {
        let key = uuid::Uuid::new_v4().to_string();
        self.redeem_keyed(who, &key, fields).await
    }

    /// `POST /redemptions` under `key`.
    pub async fn redeem_keyed(&self, who: &TestUser, key: &str, fields: &Value) -> Response {
        self.post_keyed("/redemptions", &who.token, key, fields)
            .await
    }

    /// `POST /redemptions/{redemption}/cancel`.
    pub async fn cancel_redemption(&self, who: &TestUser, redemption: &str) -> Response {
        self.post_empty(&format!("/redemptions/{redemption}/cancel"), who)
            .await
    }

    /// `POST /rewards/{reward}/restock`.
    pub async fn restock(&self, who: &TestUser, reward: &str, quantity: i64) -> Response {
        self.post(
            &format!("/rewards/{reward}/restock"),
            &who.token,
            &json!({"quantity": quantity}),
        )
        .await
    }

    /// `GET /rewards/{reward}`.
    pub async fn get_reward(&self, who: &TestUser, reward: &str) -> Response {
        self.get(&format!("/rewards/{reward}"), &who.token).await
    }

    /// `GET /redemptions/{redemption}`.
    pub async fn redemption(&self, who: &TestUser, redemption: &str) -> Response {
        self.get(&format!("/redemptions/{redemption}"), &who.token)
            .await
    }

    /// `GET /me/redemptions`.
    pub async fn my_redemptions(&self, who: &TestUser) -> Response {
        self.get("/me/redemptions", &who.token).await
    }

    /// `GET /redemptions?{query}`: staff's list (an empty `query` asks for none).
    pub async fn redemptions(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/redemptions", query), &who.token)
            .await
    }

    /// `GET /rewards?{query}` (an empty `query` asks for none).
    pub async fn rewards(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/rewards", query), &who.token).await
    }

    /// `POST /redemptions/fulfil` with this pickup code (a JSON value, as a redemption shows it).
    pub async fn fulfil(&self, who: &TestUser, pickup_code: &Value) -> Response {
        self.post(
            "/redemptions/fulfil",
            &who.token,
            &json!({"pickup_code": pickup_code}),
        )
        .await
    }

    // Partners.

    /// `POST /partners`.
    pub async fn create_partner(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/partners", &who.token, fields).await
    }

    /// `GET /partners`.
    pub async fn partners(&self, who: &TestUser) -> Response {
        self.get("/partners", &who.token).await
    }

    /// `GET /partners/{partner}` (any text as the id).
    pub async fn partner(&self, who: &TestUser, partner: &str) -> Response {
        self.get(&format!("/partners/{partner}"), &who.token).await
    }

    /// `PATCH /partners/{partner}`.
    pub async fn edit_partner(&self, who: &TestUser, partner: &str, fields: &Value) -> Response {
        self.patch(&format!("/partners/{partner}"), &who.token, fields)
            .await
    }

    /// `GET /partners/{partner}/clerks`.
    pub async fn partner_clerks(&self, who: &TestUser, partner: &str) -> Response {
        self.get(&format!("/partners/{partner}/clerks"), &who.token)
            .await
    }

    /// `PUT /partners/{partner}/clerks/{volunteer}`.
    pub async fn add_clerk(&self, who: &TestUser, partner: &str, volunteer: &str) -> Response {
        self.put(
            &format!("/partners/{partner}/clerks/{volunteer}"),
            &who.token,
            &json!({}),
        )
        .await
    }

    /// `DELETE /partners/{partner}/clerks/{volunteer}`.
    pub async fn remove_clerk(&self, who: &TestUser, partner: &str, volunteer: &str) -> Response {
        self.delete(
            &format!("/partners/{partner}/clerks/{volunteer}"),
            &who.token,
        )
        .await
    }

    /// `GET /partners/{partner}/redemptions?{query}` (an empty `query` asks for none).
    pub async fn partner_redemptions(
        &self,
        who: &TestUser,
        partner: &str,
        query: &str,
    ) -> Response {
        let path = format!("/partners/{partner}/redemptions");
        self.get(&with_query(&path, query), &who.token).await
    }

    /// `GET /partners/{partner}/settlement?{query}` (an empty `query` asks for none).
    pub async fn settlement(&self, who: &TestUser, partner: &str, query: &str) -> Response {
        let path = format!("/partners/{partner}/settlement");
        self.get(&with_query(&path, query), &who.token).await
    }

    // The community fund and micro-wishes.

    /// `POST /donations` under `key`.
    pub async fn donate(&self, who: &TestUser, key: &str, fields: &Value) -> Response {
        self.post_keyed("/donations", &who.token, key, fields).await
    }

    /// `GET /fund`.
    pub async fn fund(&self, who: &TestUser) -> Response {
        self.get("/fund", &who.token).await
    }

    /// `POST /wishes`.
    pub async fn create_wish(&self, who: &TestUser, fields: &Value) -> Response {
        self.post("/wishes", &who.token, fields).await
    }

    /// `GET /wishes?{query}` (an empty `query` asks for none).
    pub async fn wishes(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/wishes", query), &who.token).await
    }

    /// `GET /wishes/{wish}`.
    pub async fn wish(&self, who: &TestUser, wish: &str) -> Response {
        self.get(&format!("/wishes/{wish}"), &who.token).await
    }

    /// `POST /wishes/{wish}/adopt`.
    pub async fn adopt_wish(&self, who: &TestUser, wish: &str) -> Response {
        self.post_empty(&format!("/wishes/{wish}/adopt"), who).await
    }

    /// `POST /wishes/{wish}/release`.
    pub async fn release_wish(&self, who: &TestUser, wish: &str) -> Response {
        self.post_empty(&format!("/wishes/{wish}/release"), who)
            .await
    }

    /// `POST /wishes/{wish}/fulfil` with this note.
    pub async fn fulfil_wish(&self, who: &TestUser, wish: &str, note: &str) -> Response {
        self.post(
            &format!("/wishes/{wish}/fulfil"),
            &who.token,
            &json!({"note": note}),
        )
        .await
    }

    /// `POST /wishes/{wish}/reject` with this reason.
    pub async fn reject_wish(&self, who: &TestUser, wish: &str, reason: &str) -> Response {
        self.post_reason(&format!("/wishes/{wish}/reject"), who, reason)
            .await
    }

    /// `POST /wishes/{wish}/confirm` with these fields (`points`, `note`).
    pub async fn confirm_wish(&self, who: &TestUser, wish: &str, fields: &Value) -> Response {
        self.post(&format!("/wishes/{wish}/confirm"), &who.token, fields)
            .await
    }

    /// `POST /wishes/{wish}/cancel` with this reason.
    pub async fn cancel_wish(&self, who: &TestUser, wish: &str, reason: &str) -> Response {
        self.post_reason(&format!("/wishes/{wish}/cancel"), who, reason)
            .await
    }

    // Reports and exports.

    /// `GET /reports/summary?{query}` (an empty `query` asks for the current month).
    pub async fn summary(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/reports/summary", query), &who.token)
            .await
    }

    /// `GET /reports/leaderboard?{query}`.
    pub async fn leaderboard(&self, who: &TestUser, query: &str) -> Response {
        self.get(&with_query("/reports/leaderboard", query), &who.token)
            .await
    }

    /// `GET /me/service-record`.
    pub async fn service_record(&self, who: &TestUser) -> Response {
        self.get("/me/service-record", &who.token).await
    }

    /// `GET /exports/{file}?{query}`: `activity-logs.csv`, `volunteers.csv` or `ledger.csv`.
    pub async fn export(&self, who: &TestUser, file: &str, query: &str) -> Response {
        self.get(&with_query(&format!("/exports/{file}"), query), &who.token)
            .await
    }

    // Operations.

    /// `GET /api-docs/openapi.json`, no caller.
    pub async fn openapi(&self) -> Response {
        self.client
            .get(self.url("/api-docs/openapi.json"))
            .send()
            .await
            .expect("the request is sent")
    }
}
