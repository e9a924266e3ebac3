//! People: phone numbers, names, passwords and roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rule::Rule;

/// A mainland mobile number: 11 digits starting with `1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number; surrounding white space is dropped.
    pub fn parse(raw: &str) -> Result<Phone, Rule> {
        let s = raw.trim();
        if s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Phone(s.to_owned()))
        } else {
            Err(Rule::Phone)
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name: 1–50 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Parses and trims a name.
    pub fn parse(raw: &str) -> Result<PersonName, Rule> {
        super::text::bounded(raw, 1, 50).map(PersonName)
    }

    /// The trimmed name.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new password: 8–128 characters (kept exactly as typed).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the length rule.
    pub fn parse(raw: &str) -> Result<Password, Rule> {
        match raw.chars().count() {
            0..=7 => Err(Rule::MinChars(8)),
            8..=128 => Ok(Password(raw.to_owned())),
            _ => Err(Rule::MaxChars(128)),
        }
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

named_enum! {
    /// What a person may do: `volunteer` < `staff` < `admin`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        Volunteer = "volunteer",
        Staff = "staff",
        Admin = "admin",
    }
}

named_enum! {
    /// A person's place in a team; a leader may act as staff for the team's activities.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum TeamRole {
        Member = "member",
        Leader = "leader",
    }
}

impl Role {
    /// Staff or admin.
    pub fn is_staff(self) -> bool {
        self >= Role::Staff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_eleven_digits_starting_with_one() {
        assert!(Phone::parse("13800000000").is_ok());
        assert_eq!(
            Phone::parse(" 13800000000 ").map(|p| p.0),
            Ok("13800000000".into())
        );
        assert!(Phone::parse("23800000000").is_err());
        assert!(Phone::parse("1380000000").is_err());
        assert!(Phone::parse("138000000001").is_err());
        assert!(Phone::parse("1380000000a").is_err());
        assert!(Phone::parse("１３８００００００００").is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Volunteer < Role::Staff && Role::Staff < Role::Admin);
        assert!(Role::Admin.is_staff() && !Role::Volunteer.is_staff());
        assert_eq!(Role::parse("staff"), Some(Role::Staff));
        assert_eq!(Role::parse("root"), None);
    }
}
