use super::Partner;

crate::queries! {
    PartnerQuery {
        by_creation {
            /// The organization's partners, newest first.
            partners: member Partner(Desc);
        }
        find {
            /// One partner, or null when there is none with this id in your organization.
            partner: member Partner;
        }
    }
}
