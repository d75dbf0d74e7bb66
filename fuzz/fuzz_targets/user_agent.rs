//! The user-agent parser, and filling a client from a sign-in's device detail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwatch_core::useragent::ClientInfo;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let client = ClientInfo::from_user_agent(text);
    let _ = client.kind.as_str();
});
