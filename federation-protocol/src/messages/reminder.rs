//! Reminders (催报, version 1): a province or the nation urges a bureau
//! directly below it to get its units' reports in. Sent down to one child
//! node; the child keeps it as a notice for its bureau users and is not
//! asked to pass it on (it urges its own children or units itself).

use super::Payload;
use crate::MessageKind;

/// The longest text a reminder carries, in characters (the web form's limit).
pub const MOST_REMINDER_TEXT_CHARS: usize = 500;

/// A reminder from the bureau above.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reminder {
    /// The sending level: `province` or `national`.
    pub from_level: String,
    /// The sending bureau's division (six digits; the nation is `000000`).
    pub from_division: String,
    /// The divisions urged, each inside the receiver's (its own division
    /// when the receiver is urged as a whole).
    pub to_divisions: Vec<String>,
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// The sending bureau's own words; absent: the standard text.
    pub text: Option<String>,
    /// The account that urged.
    pub by: String,
    /// When it urged (ms).
    pub at_ms: i64,
}

impl Reminder {
    /// What is wrong with the reminder's shape, if anything (no division
    /// urged, an over-long text): such a reminder is refused as malformed.
    pub fn shape_problem(&self) -> Option<String> {
        if self.to_divisions.is_empty() {
            return Some("to_divisions: no division is urged".to_string());
        }
        let text_chars = self.text.as_deref().map_or(0, |text| text.chars().count());
        if text_chars > MOST_REMINDER_TEXT_CHARS {
            return Some(format!(
                "text: {text_chars} characters, at most {MOST_REMINDER_TEXT_CHARS} allowed"
            ));
        }
        None
    }
}

impl Payload for Reminder {
    const KIND: MessageKind = MessageKind::Reminder;
    const VERSION: u16 = 1;

    /// The divisions urged: a receiver checks they lie inside its own. The
    /// sender's division is not one of them (it is above the receiver).
    fn concerned_divisions(&self) -> Vec<String> {
        self.to_divisions.clone()
    }
}
