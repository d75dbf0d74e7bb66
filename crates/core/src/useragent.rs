//! User agent → browser family and major version, OS family, and what kind of client it is.
//!
//! Deliberately coarse: detection compares a session's clients with the user's usual ones, so
//! stable families ("Chrome 120", "Windows") matter, not exact builds. Non-browser clients are
//! named, because a session moving from a browser to `python-requests` is strong evidence.

use serde::{Deserialize, Serialize};

/// What sort of software sent the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A web browser.
    Browser,
    /// A Microsoft or vendor app (Outlook, Teams, OneDrive, Office).
    App,
    /// A script, library or command-line tool (python-requests, curl, PowerShell...).
    Tool,
    /// Nothing recognizable, or no user agent.
    #[default]
    Unknown,
}

impl ClientKind {
    /// A stable name, for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Browser => "browser",
            ClientKind::App => "app",
            ClientKind::Tool => "tool",
            ClientKind::Unknown => "unknown",
        }
    }

    /// The kind of a stable name; anything else is `Unknown`.
    pub fn from_name(name: &str) -> Self {
        [ClientKind::Browser, ClientKind::App, ClientKind::Tool]
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .unwrap_or(ClientKind::Unknown)
    }
}

/// What the user agent (or the record's device details) says about the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Browser or client family ("Chrome", "Edge", "Outlook", "python-requests").
    pub browser: Option<String>,
    /// Its major version.
    pub browser_major: Option<u32>,
    /// OS family ("Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS").
    pub os: Option<String>,
    /// The kind of client.
    pub kind: ClientKind,
}

/// Non-browser clients: a lower-case marker in the UA, the family reported, and its kind.
/// Checked before browsers, since apps embed browser tokens.
const NON_BROWSERS: &[(&str, &str, ClientKind)] = &[
    ("python-requests", "python-requests", ClientKind::Tool),
    ("python-urllib", "python-urllib", ClientKind::Tool),
    ("aiohttp", "aiohttp", ClientKind::Tool),
    ("python/", "python", ClientKind::Tool),
    ("okhttp", "okhttp", ClientKind::Tool),
    ("curl/", "curl", ClientKind::Tool),
    ("wget/", "wget", ClientKind::Tool),
    ("go-http-client", "go-http-client", ClientKind::Tool),
    ("powershell", "PowerShell", ClientKind::Tool),
    ("axios/", "axios", ClientKind::Tool),
    ("node-fetch", "node-fetch", ClientKind::Tool),
    ("java/", "java", ClientKind::Tool),
    ("apache-httpclient", "apache-httpclient", ClientKind::Tool),
    ("postmanruntime", "postman", ClientKind::Tool),
    ("bav2ropc", "BAV2ROPC", ClientKind::Tool),
    ("microsoftteams", "Teams", ClientKind::App),
    ("teams/", "Teams", ClientKind::App),
    ("outlook", "Outlook", ClientKind::App),
    ("onedrive", "OneDrive", ClientKind::App),
    ("microsoft office", "Microsoft Office", ClientKind::App),
    ("msal", "MSAL", ClientKind::App),
];

/// Browsers: the token before the version, the family, in order of precedence (Edge and Opera
/// carry Chrome's token too; Chrome carries Safari's).
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
    ("MSIE ", "Internet Explorer"),
    ("Trident/", "Internet Explorer"),
];

/// OS markers, lower-case, in order of precedence (Android UAs say "Linux", iOS ones "Mac OS X").
const OPERATING_SYSTEMS: &[(&str, &str)] = &[
    ("windows", "Windows"),
    ("iphone", "iOS"),
    ("ipad", "iOS"),
    ("ios", "iOS"),
    ("android", "Android"),
    ("cros ", "ChromeOS"),
    ("mac os x", "macOS"),
    ("macintosh", "macOS"),
    ("macos", "macOS"),
    ("linux", "Linux"),
];

impl ClientInfo {
    /// Classifies a user agent.
    pub fn from_user_agent(user_agent: &str) -> ClientInfo {
        let user_agent = user_agent.trim();
        if user_agent.is_empty() {
            return ClientInfo::default();
        }
        let os = os_family(user_agent).map(str::to_owned);
        let lower = user_agent.to_ascii_lowercase();
        if let Some((marker, family, kind)) = NON_BROWSERS
            .iter()
            .find(|(marker, _, _)| lower.contains(marker))
        {
            let at = lower.find(marker).unwrap_or(0);
            return ClientInfo {
                browser: Some((*family).to_owned()),
                browser_major: major_after(&user_agent[at..], '/'),
                os,
                kind: *kind,
            };
        }
        for (token, family) in BROWSERS {
            if let Some(at) = user_agent.find(token) {
                if *family == "Safari" && !user_agent.contains("Safari/") {
                    continue;
                }
                return ClientInfo {
                    browser: Some((*family).to_owned()),
                    browser_major: leading_number(&user_agent[at + token.len()..]),
                    os,
                    kind: ClientKind::Browser,
                };
            }
        }
        ClientInfo {
            os,
            ..ClientInfo::default()
        }
    }

    /// Completes what the user agent left unknown from a record's own device details
    /// (`deviceDetail.operatingSystem` "Windows 10", `deviceDetail.browser` "Edge 90.0.818").
    pub fn fill_from_device_detail(
        &mut self,
        operating_system: Option<&str>,
        browser: Option<&str>,
    ) {
        if self.os.is_none() {
            self.os = operating_system.and_then(os_family).map(str::to_owned);
        }
        if self.browser.is_none()
            && let Some(browser) = browser.map(str::trim).filter(|b| !b.is_empty())
        {
            let (family, version) = match browser.rsplit_once(' ') {
                Some((family, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
                    (family, leading_number(version))
                }
                _ => (browser, None),
            };
            self.browser = Some(family.to_owned());
            self.browser_major = version;
            if self.kind == ClientKind::Unknown {
                self.kind = ClientKind::Browser;
            }
        }
    }
}

fn os_family(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    OPERATING_SYSTEMS
        .iter()
        .find(|(marker, _)| lower.contains(marker))
        .map(|(_, family)| *family)
}

fn leading_number(text: &str) -> Option<u32> {
    let digits: &str = &text[..text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len())];
    digits.parse().ok()
}

fn major_after(text: &str, separator: char) -> Option<u32> {
    text.split_once(separator)
        .and_then(|(_, rest)| leading_number(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(ua: &str) -> (Option<String>, Option<u32>, Option<String>, ClientKind) {
        let info = ClientInfo::from_user_agent(ua);
        (info.browser, info.browser_major, info.os, info.kind)
    }

    fn expect(ua: &str, browser: &str, major: Option<u32>, os: Option<&str>, kind: ClientKind) {
        assert_eq!(
            classify(ua),
            (Some(browser.to_owned()), major, os.map(str::to_owned), kind),
            "{ua}"
        );
    }

    #[test]
    fn browsers_and_their_os() {
        use ClientKind::Browser;
        expect(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.72 Safari/537.36 Edg/90.0.818.41",
            "Edge",
            Some(90),
            Some("Windows"),
            Browser,
        );
        expect(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36",
            "Chrome",
            Some(108),
            Some("macOS"),
            Browser,
        );
        expect(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari",
            Some(17),
            Some("iOS"),
            Browser,
        );
        expect(
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox",
            Some(121),
            Some("Linux"),
            Browser,
        );
        expect(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
            "Chrome",
            Some(120),
            Some("Android"),
            Browser,
        );
    }

    #[test]
    fn tools_and_apps_are_named() {
        use ClientKind::{App, Tool};
        expect(
            "python-requests/2.28.1",
            "python-requests",
            Some(2),
            None,
            Tool,
        );
        expect("okhttp/4.9.2", "okhttp", Some(4), None, Tool);
        expect("curl/8.4.0", "curl", Some(8), None, Tool);
        expect(
            "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.0",
            "PowerShell",
            Some(7),
            Some("Windows"),
            Tool,
        );
        expect(
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
            "Outlook",
            None,
            Some("Windows"),
            App,
        );
        expect(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.289 Electron/25.8.1 Safari/537.36 MicrosoftTeams/1.6.00.33567 Teams/1.6.00.33567",
            "Teams",
            Some(1),
            Some("Windows"),
            App,
        );
    }

    #[test]
    fn empty_odd_and_unicode_agents_do_not_panic() {
        assert_eq!(ClientInfo::from_user_agent(""), ClientInfo::default());
        let odd = ClientInfo::from_user_agent("Überbrowser/ (☃; Windows)");
        assert_eq!(odd.os.as_deref(), Some("Windows"));
        assert_eq!(odd.kind, ClientKind::Unknown);
        let versionless = ClientInfo::from_user_agent("curl/");
        assert_eq!(versionless.browser_major, None);
    }

    #[test]
    fn device_details_fill_the_gaps() {
        let mut info = ClientInfo::default();
        info.fill_from_device_detail(Some("Windows 10"), Some("Edge 90.0.818"));
        assert_eq!(info.os.as_deref(), Some("Windows"));
        assert_eq!(info.browser.as_deref(), Some("Edge"));
        assert_eq!(info.browser_major, Some(90));
        assert_eq!(info.kind, ClientKind::Browser);
        let mut from_ua = ClientInfo::from_user_agent("curl/8.4.0");
        from_ua.fill_from_device_detail(Some("Ios"), Some("Safari 17"));
        assert_eq!(from_ua.browser.as_deref(), Some("curl"), "the UA wins");
    }
}
