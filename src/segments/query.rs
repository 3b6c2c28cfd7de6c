use super::Segment;

crate::queries! {
    SegmentQuery {
        by_creation {
            /// The organization's segments, newest first.
            segments: member Segment(Desc);
        }
        find {
            /// One segment, or null when there is none with this id in your organization.
            segment: member Segment;
        }
    }
}
