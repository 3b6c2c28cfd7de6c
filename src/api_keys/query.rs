use super::ApiKey;

crate::queries! {
    ApiKeyQuery {
        by_creation {
            /// The organization's API keys, newest first. OWNER and ADMIN only.
            api_keys: admin ApiKey(Desc);
        }
    }
}
