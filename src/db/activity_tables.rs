//! The tables of teams, activities, enrolments and activity logs (migration 000003), kept
//! beside the code that owns them; portable SQL types only.

use super::schema::users;

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, volunteer_id) {
        team_id -> Text,
        volunteer_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        location -> Nullable<Text>,
        team_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Nullable<BigInt>,
        points_per_hour -> Nullable<BigInt>,
        fixed_points -> Nullable<BigInt>,
        geofence_lat -> Nullable<Double>,
        geofence_lng -> Nullable<Double>,
        geofence_radius_m -> Nullable<BigInt>,
        enrolled_count -> BigInt,
        status -> Text,
        checkin_secret -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    enrollments (activity_id, volunteer_id) {
        activity_id -> Text,
        volunteer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activity_logs (id) {
        id -> Text,
        activity_id -> Text,
        volunteer_id -> Text,
        status -> Text,
        source -> Text,
        recorded_by -> Nullable<Text>,
        note -> Nullable<Text>,
        checked_in_at -> Nullable<Timestamp>,
        checked_out_at -> Nullable<Timestamp>,
        check_in_lat -> Nullable<Double>,
        check_in_lng -> Nullable<Double>,
        check_in_accuracy_m -> Nullable<Double>,
        check_out_lat -> Nullable<Double>,
        check_out_lng -> Nullable<Double>,
        check_out_accuracy_m -> Nullable<Double>,
        minutes -> Nullable<BigInt>,
        points_proposed -> Nullable<BigInt>,
        points_awarded -> Nullable<BigInt>,
        check_in_distance_m -> Nullable<Double>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_note -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        reversed_by -> Nullable<Text>,
        reversed_at -> Nullable<Timestamp>,
        reversal_reason -> Nullable<Text>,
        reversal_transaction_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(activity_logs -> activities (activity_id));

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    team_members,
    activities,
    enrollments,
    activity_logs,
    users,
);
