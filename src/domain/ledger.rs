//! Names of the ledger (LEDGER.md): what a transaction records and what an account is, with the
//! rule of which totals a volunteer entry moves.

named_enum! {
    /// What a transaction records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Earn = "earn",
        Redeem = "redeem",
        Refund = "refund",
        Adjust = "adjust",
        Reversal = "reversal",
        Donate = "donate",
        Opening = "opening",
    }
}

impl Kind {
    /// How a volunteer entry of `amount` in a transaction of this kind moves the account's
    /// `(earned_total, spent_total, donated_total)`: earned counts approvals and confirmed wishes
    /// less reversals, spent counts redemptions less refunds, donated counts donations;
    /// adjustments and opening balances count in none. A reversal undoes its original's totals,
    /// so it is posted with the original's kind here.
    pub fn totals_delta(self, amount: i64) -> (i64, i64, i64) {
        match self {
            Kind::Earn => (amount, 0, 0),
            Kind::Redeem | Kind::Refund => (0, -amount, 0),
            Kind::Donate => (0, 0, -amount),
            Kind::Adjust | Kind::Reversal | Kind::Opening => (0, 0, 0),
        }
    }
}

named_enum! {
    /// Whose an account is: a volunteer's, or one of the two system accounts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AccountKind {
        Volunteer = "volunteer",
        CommunityFund = "community_fund",
        Redemptions = "redemptions",
    }
}
