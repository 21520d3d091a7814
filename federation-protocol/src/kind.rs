//! Message kinds: everything that crosses a link, and which way it may go.

/// Which way a kind of message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Child to parent (city → province → national).
    Up,
    /// Parent to child (national → province → city).
    Down,
}

/// What an envelope carries. New kinds are added at the end; a receiver that
/// does not know a kind refuses that message (recorded, the link goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Down: the metadata standard (forms, indicators, rules) and each level's extensions.
    MetadataRelease,
    /// Down: reporting periods and their windows.
    PeriodRelease,
    /// Up and down: survey units added, changed, suspended or closed.
    RegistryChange,
    /// Up: approved report versions, each with its content hash.
    ReportBatch,
    /// Up: a lower level's answer to feedback (备注说明).
    Annotation,
    /// Down: review feedback from an upper level (审核反馈意见).
    Feedback,
    /// Down: a report sent back for correction with a deadline.
    ReturnToUnit,
    /// Down: a level's acceptance (验收) of data, as a receipt.
    AcceptanceReceipt,
    /// Up: counts per state per division (上报进度).
    ProgressSummary,
    /// Down and up: spot-check plans and results (抽查).
    SpotCheck,
    /// Down: an urging reminder to a lower bureau (催报).
    Reminder,
}

impl MessageKind {
    /// Every kind, in declaration order.
    pub const ALL: [MessageKind; 11] = [
        MessageKind::MetadataRelease,
        MessageKind::PeriodRelease,
        MessageKind::RegistryChange,
        MessageKind::ReportBatch,
        MessageKind::Annotation,
        MessageKind::Feedback,
        MessageKind::ReturnToUnit,
        MessageKind::AcceptanceReceipt,
        MessageKind::ProgressSummary,
        MessageKind::SpotCheck,
        MessageKind::Reminder,
    ];

    /// The snake_case name used on the wire and in signatures.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::MetadataRelease => "metadata_release",
            MessageKind::PeriodRelease => "period_release",
            MessageKind::RegistryChange => "registry_change",
            MessageKind::ReportBatch => "report_batch",
            MessageKind::Annotation => "annotation",
            MessageKind::Feedback => "feedback",
            MessageKind::ReturnToUnit => "return_to_unit",
            MessageKind::AcceptanceReceipt => "acceptance_receipt",
            MessageKind::ProgressSummary => "progress_summary",
            MessageKind::SpotCheck => "spot_check",
            MessageKind::Reminder => "reminder",
        }
    }

    /// Whether this kind may travel in `direction`.
    pub fn may_travel(self, direction: Direction) -> bool {
        match self {
            MessageKind::RegistryChange | MessageKind::SpotCheck => true,
            MessageKind::ReportBatch | MessageKind::Annotation | MessageKind::ProgressSummary => {
                direction == Direction::Up
            }
            MessageKind::MetadataRelease
            | MessageKind::PeriodRelease
            | MessageKind::Feedback
            | MessageKind::ReturnToUnit
            | MessageKind::AcceptanceReceipt
            | MessageKind::Reminder => direction == Direction::Down,
        }
    }
}
