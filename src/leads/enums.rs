crate::text_enum! {
    /// Where a lead is in the sales pipeline.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        DemoScheduled => "demo_scheduled",
        ProposalSent => "proposal_sent",
        ClosedWon => "closed_won",
        ClosedLost => "closed_lost",
    }
}

crate::text_enum! {
    Temperature {
        Hot => "hot",
        Warm => "warm",
        Cold => "cold",
    }
}

crate::text_enum! {
    Seniority {
        CLevel => "c_level",
        Vp => "vp",
        Director => "director",
        Manager => "manager",
        Individual => "individual",
    }
}

crate::text_enum! {
    LeadSource {
        Website => "website",
        Partner => "partner",
        Referral => "referral",
        Linkedin => "linkedin",
        Event => "event",
        ColdOutreach => "cold_outreach",
        Advertising => "advertising",
        Other => "other",
    }
}
