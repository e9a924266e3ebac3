//! `seed-demo`: fills an empty database with a living community (API.md "Demo data") — its 16
//! teams, the partners and their rewards, several dozen volunteers with a month of approved
//! service, activities today and this week (one open for check-in now), open micro-wishes, a
//! staff member and an admin. Everything goes through the same `db::` functions the API calls,
//! in one write transaction that ends with a ledger verify: the ledger stays the only writer,
//! and a seed that would not verify commits nothing.

use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::Rng;

use crate::db::activities::{self, Editable, Manager};
use crate::db::redemptions::{self, Redeem};
use crate::db::rewards::{self, NewReward};
use crate::db::wishes::{self, NewWish};
use crate::db::{activity_logs, fund, ledger, partners, teams, users, DbConnection};
use crate::domain::activities::PointsRule;
use crate::domain::ids::{ActivityId, RewardId, TeamId, VolunteerId};
use crate::domain::partners::PartnerKind;
use crate::domain::people::{Phone, Role, TeamRole};
use crate::domain::rewards::PickupCode;
use crate::error::AppError;

/// The community's teams (PRODUCT.md: about 16, self-organised).
pub const TEAMS: [&str; 16] = [
    "党员义工队",
    "蒋姐姐助老服务队",
    "我来说法评理团",
    "社区规划师团队",
    "邻里互助队",
    "环境保护志愿队",
    "文明劝导队",
    "平安巡逻队",
    "青少年成长营",
    "银龄文艺队",
    "健康义诊队",
    "垃圾分类督导队",
    "退役军人服务队",
    "巾帼志愿队",
    "楼道长联络队",
    "智慧助老数字课堂",
];

/// Volunteers besides the three sign-in accounts.
pub const VOLUNTEERS: usize = 48;

/// Points an hour of the month's service earned.
const POINTS_PER_HOUR: i64 = 10;

/// A partner and its rewards: (name, cost in points, stock, per-person limit).
struct Partner {
    name: &'static str,
    kind: PartnerKind,
    description: &'static str,
    rewards: &'static [(&'static str, i64, Option<i64>, Option<i64>)],
}

const PARTNERS: [Partner; 4] = [
    Partner {
        name: "老年食堂",
        kind: PartnerKind::SocialEnterprise,
        description: "社区长者饭堂，工作日供应午餐和晚餐",
        rewards: &[
            ("长者午餐券（一餐）", 20, None, Some(10)),
            ("爱心早餐套餐", 8, None, None),
        ],
    },
    Partner {
        name: "智慧消防",
        kind: PartnerKind::SocialEnterprise,
        description: "家庭消防安全服务：烟感安装、灭火器检测",
        rewards: &[
            ("独立式烟感报警器（含上门安装）", 150, Some(30), Some(1)),
            ("家用灭火器免费检测", 30, None, Some(2)),
        ],
    },
    Partner {
        name: "邻里义集",
        kind: PartnerKind::SocialEnterprise,
        description: "每月第一个周六的社区集市，日用品与农副产品",
        rewards: &[
            ("东北大米 5 斤", 60, Some(100), Some(2)),
            ("花生油 1.8 升", 80, Some(60), Some(1)),
            ("洗衣液 2 公斤", 40, Some(80), Some(2)),
        ],
    },
    Partner {
        name: "社区发展基金",
        kind: PartnerKind::Fund,
        description: "社区发展基金采购的纪念品与服务",
        rewards: &[
            ("志愿者纪念保温杯", 100, Some(50), Some(1)),
            ("社区理发服务一次", 25, None, None),
        ],
    },
];

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 12] = [
    "秀英", "建国", "桂兰", "志强", "玉珍", "德明", "淑芬", "国庆", "丽华", "长林", "美玲", "振华",
];

/// The month's service: (title, location, team index, hours).
const SERVICE: [(&str, &str, usize, i64); 8] = [
    ("探访独居老人", "幸福里小区", 1, 2),
    ("楼道清扫与杂物清理", "3 号楼至 8 号楼", 5, 2),
    ("邻里纠纷调解日", "社区调解室", 2, 3),
    ("党员先锋岗值守", "社区服务中心", 0, 3),
    ("垃圾分类桶边督导", "各小区投放点", 11, 2),
    ("夜间平安巡逻", "社区主干道", 7, 2),
    ("长者健康义诊", "社区卫生服务站", 10, 3),
    ("智能手机教学课", "社区活动室", 15, 2),
];

/// The micro-wishes open now: (title, beneficiary, points).
const WISHES: [(&str, &str, i64); 4] = [
    (
        "给孙奶奶买一件冬天的棉衣",
        "孙奶奶，独居，幸福里 5 栋 102，电话请向社工索取",
        30,
    ),
    (
        "帮小明补习初二数学",
        "小明，低保家庭，和平路 12 号 3 单元，家长周末在家",
        50,
    ),
    (
        "陪刘爷爷去医院复查",
        "刘爷爷，82 岁，行动不便，东苑 2 栋 401",
        20,
    ),
    (
        "给困难家庭送一台二手电风扇",
        "陈阿姨一家，租住在老街 17 号，夏天屋里闷热",
        15,
    ),
];

/// An account the seed made that someone can sign in with.
#[derive(Debug, Clone)]
pub struct Account {
    /// What they may do.
    pub role: Role,
    /// What they sign in with.
    pub phone: String,
    /// Their password, in the clear (printed once).
    pub password: String,
}

/// A fresh demo password: clearly a demo, random all the same (argon2 hashes it).
pub fn demo_password() -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..10)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("demo-{tail}")
}

/// Who signs in, and their passwords already hashed (hashing is slow: done before the
/// transaction, so it holds no lock meanwhile).
pub struct SignIns {
    /// The admin (周主任) and the hash of their password.
    pub admin: (Account, String),
    /// The staff member (林社工) and the hash of their password.
    pub staff: (Account, String),
    /// The volunteer (蒋秀兰, who leads 蒋姐姐助老服务队) and the hash of their password.
    pub volunteer: (Account, String),
}

/// Seeds the demo community on `conn`, inside the caller's write transaction; refuses a
/// database that holds anyone. `now` is the service's clock, `tz` the community's time zone
/// (what "today" and "this week" mean). Answers the accounts to sign in with, or `None` (and
/// nothing changed) when the database already holds people.
pub fn seed(
    conn: &mut DbConnection,
    sign_ins: SignIns,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Option<Vec<Account>>, AppError> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    // Whole minutes, as a person would set them.
    let now = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let naive = now.naive_utc();
    let month_ago = naive - Duration::days(30);
    let person = |conn: &mut DbConnection, phone: &str, name: &str, role, hash: &str, at| {
        let phone = Phone::parse(phone).map_err(|r| AppError::invalid("phone", r))?;
        let row = users::create(
            conn,
            users::NewUser {
                phone: &phone,
                name,
                role,
                password_hash: hash,
                now: at,
            },
        )?;
        Ok::<VolunteerId, AppError>(row.id)
    };
    let (admin_account, admin_hash) = sign_ins.admin;
    let (staff_account, staff_hash) = sign_ins.staff;
    let (volunteer_account, volunteer_hash) = sign_ins.volunteer;
    let admin = person(
        conn,
        &admin_account.phone,
        "周主任",
        Role::Admin,
        &admin_hash,
        month_ago,
    )?;
    let staff = person(
        conn,
        &staff_account.phone,
        "林社工",
        Role::Staff,
        &staff_hash,
        month_ago,
    )?;

    let mut team_ids: Vec<TeamId> = Vec::new();
    for name in TEAMS {
        team_ids.push(teams::create(conn, name, None, month_ago)?.id);
    }

    // Volunteers: the sign-in one (蒋姐姐, who leads the elder-care team) and several dozen more,
    // each in one or two teams; the first of each team leads it.
    let mut people: Vec<VolunteerId> = vec![person(
        conn,
        &volunteer_account.phone,
        "蒋秀兰",
        Role::Volunteer,
        &volunteer_hash,
        month_ago,
    )?];
    for i in 0..VOLUNTEERS {
        let name = format!("{}{}", SURNAMES[i % 16], GIVEN[(i * 5 + i / 16) % 12]);
        let phone = format!("1380000{:04}", 1001 + i);
        people.push(person(conn, &phone, &name, Role::Volunteer, "", month_ago)?);
    }
    let mut members: Vec<Vec<VolunteerId>> = vec![Vec::new(); TEAMS.len()];
    for (i, who) in people.iter().enumerate() {
        let home = if i == 0 { 1 } else { (i * 7) % TEAMS.len() };
        for team in [home, (home + 3) % TEAMS.len()] {
            let role = if members[team].is_empty() {
                TeamRole::Leader
            } else {
                TeamRole::Member
            };
            teams::set_member(conn, &team_ids[team], who, role, month_ago)?;
            members[team].push(who.clone());
        }
    }

    // A month of approved service: staff record each attendance at the desk, the admin approves
    // (whoever records a log never approves it), on the day it happened.
    let recorder = Manager::load(conn, &staff, true)?;
    let approver = Manager::load(conn, &admin, true)?;
    for day in 0..26i64 {
        let (title, location, team, hours) = SERVICE[day as usize % SERVICE.len()];
        let starts = local(tz, now - Duration::days(29 - day), 9) + Duration::hours(day % 3);
        let ends = starts + Duration::hours(hours);
        let reviewed = ends + Duration::hours(2);
        if reviewed >= naive {
            break;
        }
        let activity = publish(
            conn,
            &staff,
            (title, location),
            &team_ids[team],
            (starts, ends),
        )?;
        // The team, and a few neighbours from other teams who came to help.
        let served = &members[team];
        let helpers = (people.iter().skip(day as usize).step_by(9).take(3))
            .filter(|who| !served.contains(who));
        for (n, who) in served.iter().chain(helpers).enumerate() {
            let minutes = hours * 60 - (n as i64 % 3) * 15;
            let record = activity_logs::Record {
                activity_id: activity.as_str(),
                volunteer_id: who.as_str(),
                minutes,
                note: None,
            };
            let log = activity_logs::record(conn, &recorder, record, ends)?;
            activity_logs::approve(conn, &approver, &log.log.id, None, None, reviewed)?;
        }
    }

    // The partners, their rewards, and a few handed out this month.
    let mut lunch: Option<RewardId> = None;
    for p in &PARTNERS {
        let partner = partners::create(conn, p.name, p.kind, Some(p.description), month_ago)?;
        for (name, cost, stock, limit) in p.rewards {
            let reward = rewards::create(
                conn,
                NewReward {
                    name: (*name).to_owned(),
                    description: None,
                    sponsor: Some(p.name.to_owned()),
                    cost_points: *cost,
                    stock: *stock,
                    per_volunteer_limit: *limit,
                    active: true,
                    partner_id: Some(partner.id.clone()),
                    created_by: staff.to_string(),
                    now: month_ago,
                },
            )?;
            lunch.get_or_insert(reward.id);
        }
    }
    if let Some(lunch) = &lunch {
        let yesterday = naive - Duration::days(1);
        for who in people.iter().take(8) {
            if balance(conn, who)? < 40 {
                continue;
            }
            let redeem = Redeem {
                reward_id: lunch,
                volunteer_id: who,
                quantity: 1,
                created_by: who,
                now: yesterday,
            };
            let r = redemptions::redeem(conn, redeem)?;
            let code =
                PickupCode::parse(&r.pickup_code).map_err(|e| AppError::invalid("code", e))?;
            redemptions::fulfil(conn, &code, None, &staff, yesterday + Duration::hours(1))?;
        }
    }
    for giver in people.iter().rev().take(3) {
        if balance(conn, giver)? >= 30 {
            fund::donate(conn, giver, 10, Some("捐给社区发展基金"), naive)?;
        }
    }

    // Activities today and this week: one open for check-in now.
    let open_now = (
        naive - Duration::minutes(30),
        naive + Duration::minutes(150),
    );
    let now_id = publish(
        conn,
        &staff,
        ("社区花园义务劳动（正在签到）", "中心花园"),
        &team_ids[5],
        open_now,
    )?;
    for who in members[5].iter().take(4) {
        activities::enroll(conn, &now_id, who, naive)?;
    }
    let week = [
        ("长者生日会", "社区活动室", 1, 0, 15),
        ("法律咨询进社区", "社区广场", 2, 1, 9),
        ("党员学习与志愿服务", "党群服务中心", 0, 2, 14),
        ("消防安全入户宣传", "东苑小区", 7, 3, 10),
        ("周末邻里义集帮手", "社区广场", 4, 5, 8),
        ("青少年读书会", "社区图书室", 8, 6, 15),
    ];
    for (title, location, team, days, hour) in week {
        let starts = local(tz, now + Duration::days(days), hour);
        let starts = if starts <= naive {
            naive + Duration::hours(3)
        } else {
            starts
        };
        let id = publish(
            conn,
            &staff,
            (title, location),
            &team_ids[team],
            (starts, starts + Duration::hours(2)),
        )?;
        for who in members[team].iter().take(3) {
            activities::enroll(conn, &id, who, naive)?;
        }
    }

    // Open micro-wishes.
    for (title, beneficiary, points) in WISHES {
        let wish = NewWish {
            title: title.to_owned(),
            description: None,
            beneficiary: beneficiary.to_owned(),
            team_id: None,
            points,
            due_at: Some(naive + Duration::days(14)),
        };
        wishes::create(conn, wish, &staff, naive)?;
    }

    let report = crate::db::verify_all(conn)?;
    if !report.ok {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the seeded ledger does not verify: {:?}",
            report.problems
        )));
    }
    Ok(Some(vec![admin_account, staff_account, volunteer_account]))
}

/// What `who` holds now.
fn balance(conn: &mut DbConnection, who: &VolunteerId) -> Result<i64, AppError> {
    Ok(ledger::figures(conn, who)?.map_or(0, |f| f.balance))
}

/// Publishes a team's activity at 10 points an hour; its id.
fn publish(
    conn: &mut DbConnection,
    by: &VolunteerId,
    (title, location): (&str, &str),
    team: &TeamId,
    (starts_at, ends_at): (NaiveDateTime, NaiveDateTime),
) -> Result<ActivityId, AppError> {
    let fields = Editable {
        title: title.to_owned(),
        description: None,
        location: Some(location.to_owned()),
        team_id: Some(team.to_string()),
        starts_at,
        ends_at,
        capacity: Some(30),
        geofence: None,
    };
    let rule = PointsRule::PerHour(POINTS_PER_HOUR);
    Ok(activities::create(conn, fields, rule, by, starts_at - Duration::days(3))?.id)
}

/// `hour` o'clock in the community's zone on the local day of `at`, as a UTC time.
fn local(tz: Tz, at: DateTime<Utc>, hour: u32) -> NaiveDateTime {
    let day = at.with_timezone(&tz);
    tz.with_ymd_and_hms(day.year(), day.month(), day.day(), hour, 0, 0)
        .earliest()
        .map_or(at.naive_utc(), |t| t.naive_utc())
}
