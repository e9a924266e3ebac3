//! Plain Rust rules of the product: valid values by construction, no actix and no diesel.

/// Declares an enum that is stored and shown by name (a TEXT column with a CHECK, a JSON string):
/// `as_str` (and `Display`) give the name, `parse` reads one back and refuses any other. `db/` stores every such
/// enum through diesel's `ToSql`/`FromSql`, so nothing compares them as strings.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and shown) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value with this name; `None` for any other text.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod activities;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod page;
pub mod partners;
pub mod people;
pub mod reports;
pub mod rewards;
pub mod rule;
pub mod text;
pub mod time;
pub mod wishes;
