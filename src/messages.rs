//! Every text a client reads in a problem, in each language the service speaks (English, the
//! default, and Chinese), chosen by the request's `Accept-Language`. Codes and types never change
//! with the language; only `title`, `detail` and the `errors` messages do.
//!
//! One table: each row holds the English and the Chinese text side by side, so adding a code,
//! a rule or a language is adding a column or a row here (the 409 details sit beside their codes
//! in `error.rs`'s `Conflict`, in the same two columns).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, ACCEPT_LANGUAGE};
use actix_web::middleware::Next;
use actix_web::Error;

use crate::domain::rule::Rule;
use crate::error::{AppError, Credentials};

/// A language of the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Simplified Chinese (`zh`, `zh-CN`, `zh-Hans`...).
    Zh,
}

impl Lang {
    /// The text of this language from an `(English, Chinese)` row.
    pub fn pick<T>(self, en: T, zh: T) -> T {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// The best language for an `Accept-Language` value (RFC 9110 §12.5.4): the supported
    /// language of the highest q-value, the earlier one on a tie; English when none is named.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best = (Lang::En, 0.0_f32);
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "zh" => Lang::Zh,
                "en" => Lang::En,
                _ => continue,
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    /// The language a request asks for.
    pub fn of(headers: &HeaderMap) -> Lang {
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language)
    }
}

/// The request's language, for an answer that carries words of its own (a bulk approval's
/// failures).
impl actix_web::FromRequest for Lang {
    type Error = Error;
    type Future = std::future::Ready<Result<Lang, Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(Lang::of(req.headers())))
    }
}

/// The title of a problem `code`.
pub fn title(code: &str, lang: Lang) -> &'static str {
    let (en, zh) = match code {
        "bad-request" => ("Bad request", "请求有误"),
        "idempotency-key-required" => ("Idempotency-Key required", "缺少 Idempotency-Key"),
        "unauthenticated" => ("Not signed in", "未登录"),
        "invalid-credentials" => ("Invalid credentials", "手机号或密码错误"),
        "forbidden" => ("Forbidden", "无权操作"),
        "self-approval" => ("Separation of duties", "职责分离"),
        "not-found" => ("Not found", "未找到"),
        "method-not-allowed" => ("Method not allowed", "不支持该请求方法"),
        "payload-too-large" => ("Payload too large", "请求体过大"),
        "unsupported-media-type" => ("Unsupported media type", "不支持的媒体类型"),
        "validation-failed" => ("Validation failed", "校验未通过"),
        "invalid-check-in-code" => ("Invalid check-in code", "签到码无效"),
        "outside-geofence" => ("Outside the geofence", "不在签到范围内"),
        "idempotency-key-reused" => ("Idempotency-Key reused", "Idempotency-Key 已被另一请求使用"),
        "rate-limited" => ("Too many requests", "请求过于频繁"),
        "unavailable" => ("Service unavailable", "服务暂不可用"),
        "internal-error" => ("Internal error", "服务内部错误"),
        // Every 409 (`Conflict`) shares one title; its detail says which state.
        _ => ("Conflict with the current state", "与当前状态冲突"),
    };
    lang.pick(en, zh)
}

/// What happened, in words: the `detail` of the problem.
pub fn detail(error: &AppError, lang: Lang) -> String {
    let fixed = |en: &str, zh: &str| lang.pick(en, zh).to_owned();
    match error {
        AppError::BadRequest(why) => match lang {
            Lang::En => why.clone(),
            Lang::Zh => sentence(why).unwrap_or_else(|| opening(why)).to_owned(),
        },
        AppError::IdempotencyKeyRequired => fixed(
            "this request needs an Idempotency-Key header",
            "该请求需要 Idempotency-Key 请求头",
        ),
        AppError::Unauthenticated(why) => fixed(why, sentence(why).unwrap_or("请先登录")),
        AppError::InvalidCredentials(Credentials::PhoneOrPassword) => {
            fixed("wrong phone or password", "手机号或密码错误")
        }
        AppError::InvalidCredentials(Credentials::CurrentPassword) => {
            fixed("the current password is wrong", "当前密码错误")
        }
        AppError::Forbidden(why) => fixed(why, sentence(why).unwrap_or("你的角色无权进行此操作")),
        AppError::SelfApproval(why) => fixed(
            why,
            sentence(why).unwrap_or("不能审核或调整与自己有关的事项"),
        ),
        AppError::NotFound(what) => match lang {
            Lang::En => format!("{what} not found"),
            Lang::Zh => format!("未找到{}", noun(what)),
        },
        AppError::MethodNotAllowed => fixed(
            "this path does not take that method",
            "该路径不支持此请求方法",
        ),
        AppError::Conflict(c) => c.detail(lang).to_owned(),
        AppError::PayloadTooLarge => fixed(
            "the request body is larger than 64 KiB (5 MiB for an import)",
            "请求体超过 64 KiB（导入文件为 5 MiB）",
        ),
        AppError::UnsupportedMediaType => fixed(
            "the request body must be application/json (text/csv for an import)",
            "请求体必须是 application/json（导入文件为 text/csv）",
        ),
        AppError::Validation(_) => fixed("some fields break a rule", "部分字段不符合规则"),
        AppError::InvalidCheckInCode => fixed(
            "this check-in code is wrong or expired",
            "签到码错误或已过期",
        ),
        AppError::OutsideGeofence {
            distance_m: None, ..
        } => fixed(
            "this activity needs your location to check in",
            "该活动签到需要提供你的位置",
        ),
        AppError::OutsideGeofence {
            distance_m: Some(d),
            radius_m,
        } => lang.pick(
            format!("you are {d:.0} m away; the limit is {radius_m} m"),
            format!("你距活动地点 {d:.0} 米，签到范围为 {radius_m} 米"),
        ),
        AppError::IdempotencyKeyReused => fixed(
            "this Idempotency-Key was used for a different request",
            "该 Idempotency-Key 已用于另一个请求",
        ),
        AppError::RateLimited { retry_after } => lang.pick(
            format!("too many attempts; try again in {retry_after} seconds"),
            format!("尝试次数过多，请 {retry_after} 秒后再试"),
        ),
        AppError::Unavailable => fixed("the database is unavailable", "数据库暂不可用"),
        AppError::Database(_) | AppError::Internal(_) => fixed(
            "the service failed; the fault is logged",
            "服务出错，错误已记录",
        ),
    }
}

/// The Chinese of a 400 reason that is a fixed opening followed by a parser's own English words
/// (`"the body is not valid JSON: expected value at line 1 column 2"`): the opening alone, so no
/// English is left in a Chinese answer.
fn opening(en: &str) -> &'static str {
    [
        ("the body is not valid JSON", "请求体不是有效的 JSON"),
        (
            "the body does not have the expected fields and types",
            "请求体缺少必填字段，或有字段的类型不对",
        ),
        ("bad query parameters", "查询参数无法解析"),
        ("reading the body failed", "读取请求体失败"),
        ("unknown status", "未知的状态"),
    ]
    .iter()
    .find(|(prefix, _)| en.starts_with(prefix))
    .map_or("请求无法解析", |(_, zh)| zh)
}

/// The Chinese of the fixed English reasons some errors carry (401, 403 and 400 reasons named
/// at their call sites); `None` for a reason without a row (a generic sentence is used).
fn sentence(en: &str) -> Option<&'static str> {
    Some(match en {
        "sign in first: no bearer token" => "请先登录：缺少 Bearer 令牌",
        "the Authorization header is not a bearer token" => "Authorization 请求头不是 Bearer 令牌",
        "the access token is invalid or expired" => "访问令牌无效或已过期",
        "this account no longer exists" => "该账户已不存在",
        "the refresh token is unknown, used, revoked or expired" => {
            "刷新令牌无效、已使用、已撤销或已过期"
        }
        "your role does not allow this" => "你的角色无权进行此操作",
        "you are not a clerk of this partner" => "你不是该合作方的店员",
        "only its adopter fulfils a wish" => "只有认领人才能完成该心愿",
        "only its adopter or staff release a wish" => "只有认领人或工作人员才能放弃该心愿",
        "nobody reviews a wish they adopted" => "不能审核自己认领的心愿",
        "a volunteer redeems only for themself" => "志愿者只能为自己兑换",
        "only an admin resets a staff or admin password" => {
            "只有管理员能重置工作人员或管理员的密码"
        }
        "only staff and team leaders may do this" => "只有工作人员和队长可以进行此操作",
        "only staff and this team's leaders may do this" => "只有工作人员和本队队长可以进行此操作",
        "this is not the metrics token" => "这不是指标页面的令牌",
        "nobody reviews their own log" => "不能审核自己的服务记录",
        "whoever recorded a log does not approve it" => "记录服务时长的人不能审核该记录",
        "nobody adjusts their own balance" => "不能调整自己的积分",
        "the cursor is not valid" => "分页游标无效",
        "the request could not be read" => "无法读取该请求",
        "limit must be a whole number" => "limit 须为整数",
        "Idempotency-Key must be 1–255 visible ASCII characters" => {
            "Idempotency-Key 须为 1–255 个可见 ASCII 字符"
        }
        _ => return None,
    })
}

/// The Chinese name of what a 404 did not find.
fn noun(what: &str) -> &str {
    match what {
        "volunteer" => "该志愿者",
        "user" => "该用户",
        "account" => "该积分账户",
        "team" => "该队伍",
        "activity" => "该活动",
        "activity log" => "该服务记录",
        "reward" => "该奖品",
        "redemption" => "该兑换记录",
        "transaction" => "该交易",
        "partner" => "该合作方",
        "wish" => "该心愿",
        "route" => "该接口",
        _ => "该资源",
    }
}

/// The message of a broken field rule.
pub fn rule(rule: &Rule, lang: Lang) -> String {
    let fixed = |en: &str, zh: &str| lang.pick(en, zh).to_owned();
    match rule {
        Rule::Empty => fixed("must not be empty", "不能为空"),
        Rule::MinChars(n) => lang.pick(
            format!("must have at least {n} characters"),
            format!("至少 {n} 个字符"),
        ),
        Rule::MaxChars(n) => lang.pick(
            format!("must have at most {n} characters"),
            format!("最多 {n} 个字符"),
        ),
        Rule::Between { min, max } => lang.pick(
            format!("must be between {min} and {max}"),
            format!("须在 {min} 到 {max} 之间"),
        ),
        Rule::WholeNumberBetween { min, max } => lang.pick(
            format!("must be a whole number from {min} to {max}, written without separators"),
            format!("须为 {min} 到 {max} 之间的整数，不带分隔符"),
        ),
        Rule::Phone => fixed(
            "must be 11 digits starting with 1",
            "须为以 1 开头的 11 位数字",
        ),
        Rule::SixDigits => fixed("must be 6 digits", "须为 6 位数字"),
        Rule::ControlCharacter => fixed(
            "must not hold control characters (line breaks and tabs are fine)",
            "不能包含控制字符（换行和制表符除外）",
        ),
        Rule::PointsPerHour => fixed(
            "points_per_hour must be between 1 and 1000",
            "points_per_hour 须在 1 到 1000 之间",
        ),
        Rule::FixedPoints => fixed(
            "fixed_points must be between 1 and 10000",
            "fixed_points 须在 1 到 10000 之间",
        ),
        Rule::OnePointsRule => fixed(
            "exactly one of points_per_hour and fixed_points is required",
            "points_per_hour 与 fixed_points 须填写且只填写其中一个",
        ),
        Rule::AfterStart => fixed("must be after starts_at", "须晚于 starts_at"),
        Rule::WithinSevenDays => fixed(
            "must be at most 7 days after starts_at",
            "距 starts_at 不能超过 7 天",
        ),
        Rule::AfterFrom => fixed("must be after from", "须晚于 from"),
        Rule::NotATime => fixed(
            "must be an RFC 3339 time such as 2026-11-27T08:30:00Z",
            "须为 RFC 3339 格式的时间，如 2026-11-27T08:30:00Z",
        ),
        Rule::TimeOutOfRange => fixed(
            "must be a time in the years 2000 to 2099",
            "须为 2000 年至 2099 年之间的时间",
        ),
        Rule::Latitude => fixed(
            "lat must be between -90 and 90",
            "纬度 lat 须在 -90 到 90 之间",
        ),
        Rule::Longitude => fixed(
            "lng must be between -180 and 180",
            "经度 lng 须在 -180 到 180 之间",
        ),
        Rule::StockUnlimited => fixed(
            "this reward's stock is unlimited; it cannot be restocked",
            "该奖品库存不限，无需补货",
        ),
        Rule::StockAbove(max) => lang.pick(
            format!("the stock would pass {max}"),
            format!("补货后库存将超过 {max}"),
        ),
        Rule::NoteRequired => fixed(
            "a note is required when the points differ from points_proposed",
            "积分与 points_proposed 不同时须填写备注",
        ),
        Rule::WishNoteRequired => fixed(
            "a note is required when the points differ from the wish's points",
            "积分与心愿的积分不同时须填写备注",
        ),
        Rule::TeamRole => fixed("must be member or leader", "须为 member 或 leader"),
        Rule::EarlierRow => fixed(
            "this phone is on an earlier row of the file",
            "该手机号已出现在文件中更早的一行",
        ),
        Rule::PhoneAndNameColumns => fixed(
            "the header row must name a phone and a name column",
            "标题行须包含 phone 列和 name 列",
        ),
        Rule::RepeatedColumn(column) => lang.pick(
            format!("the header row names the {column} column twice"),
            format!("标题行中 {column} 列出现了两次"),
        ),
        Rule::NotCsv => fixed(
            "must be a CSV file with a header row",
            "须为带标题行的 CSV 文件",
        ),
        Rule::NotUtf8OrGb18030 => fixed(
            "must be text in UTF-8 or GB18030 (save it as CSV UTF-8)",
            "须为 UTF-8 或 GB18030 编码的文本（请另存为 CSV UTF-8）",
        ),
        Rule::UnclosedQuote(line) => lang.pick(
            format!("the quoted cell that begins on line {line} is never closed"),
            format!("第 {line} 行开始的带引号单元格没有结束引号"),
        ),
        Rule::OpeningAlreadySet(recorded) => lang.pick(
            format!("this volunteer's opening balance of {recorded} is already recorded"),
            format!("该志愿者已记录期初积分 {recorded}，不能再次设置"),
        ),
    }
}

/// A rule in English (the command line's messages).
impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&rule(self, Lang::En))
    }
}

/// Answers a problem in the request's language: a handler's or extractor's `AppError` is
/// rendered in English by actix; for another language its body is rendered again. Kept
/// idempotent answers are plain bodies, not errors, so they are replayed byte for byte.
pub async fn localise(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, String>>, Error> {
    let lang = Lang::of(req.headers());
    let res = next.call(req).await?;
    let body = match (lang, res.response().error()) {
        (Lang::En, _) | (_, None) => None,
        (_, Some(e)) => e.as_error::<AppError>().map(|e| e.to_body(lang).1),
    };
    Ok(match body {
        None => res.map_into_left_body(),
        Some(body) => res.map_body(|_, _| EitherBody::right(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_q_value_among_supported_languages_wins() {
        assert_eq!(Lang::from_accept_language("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("zh"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("zh-Hans-CN,zh;q=0.9"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("en;q=0.9, zh;q=0.8"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, zh-CN;q=0.8"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("fr, zh;q=0.1"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr, de"), Lang::En);
        assert_eq!(Lang::from_accept_language("zh;q=0"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }
}
