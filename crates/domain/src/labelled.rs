//! Closed sets of codes (states, kinds, roles, statuses) with a stable
//! string used in the API and the database and a Chinese label shown to
//! people, declared once with [`labelled_enum!`](crate::labelled_enum).

/// Declares a closed set of codes with a stable string and a Chinese label:
/// `ALL`, `as_str`, `label` and `parse`. The caller writes the derives
/// (serde's `rename_all = "snake_case"` keeps the JSON form equal to the code).
///
/// ```
/// mashangban_domain::labelled_enum!(
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     /// A traffic light.
///     Light { Red = "red" / "红灯", Green = "green" / "绿灯" }
/// );
/// assert_eq!(Light::parse("green").map(Light::label), Some("绿灯"));
/// assert_eq!(Light::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}
