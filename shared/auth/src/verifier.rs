//! Checking one request: parse the `Authorization` header, check the
//! timestamp and scope, look the key up, recompute the signature.
//!
//! The order is deliberate: everything that needs no key store (header
//! syntax, clock skew, scope) is checked first, so malformed or stale
//! requests cost no lookup (on AWS: no DynamoDB read, no KMS call).

use axum::http::{HeaderMap, Method, Uri};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::{AuthError, AuthErrorKind};
use crate::keys::{KeyStatus, KeyStore};
use crate::replay::ReplayCache;
use crate::sigv4;

/// The signing name of AWS Step Functions, which every SDK uses for it.
pub const SERVICE: &str = "states";

/// Default allowed clock skew: AWS's 5 minutes.
pub const DEFAULT_MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Who signed a request, once verified. The API handler may use it for
/// logging or (later) per-key permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub access_key_id: String,
    /// The key's name in the store.
    pub name: String,
    /// The region of the credential scope (what the client configured).
    pub region: String,
}

/// How requests are checked. The defaults suit `flowstate serve --auth`;
/// the API Lambda should pin `region` to `AWS_REGION`.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The service name in the credential scope.
    pub service: String,
    /// When set, the credential scope must name this region.
    pub region: Option<String>,
    /// Largest accepted difference between `X-Amz-Date` and now, in ms.
    pub max_skew_ms: i64,
}

impl Default for VerifierConfig {
    fn default() -> VerifierConfig {
        VerifierConfig {
            service: SERVICE.to_owned(),
            region: None,
            max_skew_ms: DEFAULT_MAX_SKEW_MS,
        }
    }
}

/// A key store plus the rules to check requests against it.
#[derive(Debug)]
pub struct Verifier<K> {
    store: K,
    config: VerifierConfig,
    replay: Option<ReplayCache>,
}

impl<K: KeyStore> Verifier<K> {
    pub fn new(store: K) -> Verifier<K> {
        Verifier {
            store,
            config: VerifierConfig::default(),
            replay: None,
        }
    }

    pub fn with_config(mut self, config: VerifierConfig) -> Verifier<K> {
        self.config = config;
        self
    }

    /// Turns on the replay cache (see [`ReplayCache`] for its trade-offs).
    pub fn with_replay_cache(mut self, capacity: usize) -> Verifier<K> {
        self.replay = Some(ReplayCache::new(capacity));
        self
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    pub fn store(&self) -> &K {
        &self.store
    }

    /// Verifies a request; `now` is epoch milliseconds.
    pub async fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Principal, AuthError> {
        let request = RequestRef {
            method,
            uri,
            headers,
            body,
        };
        check(
            &self.store,
            &self.config,
            self.replay.as_ref(),
            request,
            now,
        )
        .await
    }
}

/// The parts of a request that the signature covers.
pub(crate) struct RequestRef<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The whole check, over a borrowed store (so that [`crate::verify`] can
/// run it without owning one).
pub(crate) async fn check<K: KeyStore>(
    store: &K,
    config: &VerifierConfig,
    replay: Option<&ReplayCache>,
    request: RequestRef<'_>,
    now: i64,
) -> Result<Principal, AuthError> {
    let RequestRef {
        method,
        uri,
        headers,
        body,
    } = request;
    let auth = parse_authorization(uri, headers)?;
    let amz_date = single_header(headers, "x-amz-date")?.ok_or_else(|| {
        AuthError::incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let signed_at = parse_amz_date(&amz_date)?;
    check_skew(config, &amz_date, signed_at, now)?;
    check_scope(config, &auth, &amz_date)?;
    check_signed_headers(&auth, headers)?;
    if headers.contains_key("x-amz-security-token") {
        // Flowstate issues long-term keys only; a session token means
        // the client is using AWS credentials by mistake.
        return Err(AuthError::new(
            AuthErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid. \
             (Flowstate keys carry no session token: unset AWS_SESSION_TOKEN.)",
        ));
    }

    let payload_hash = sigv4::sha256_hex(body);
    if let Some(claimed) = single_header(headers, "x-amz-content-sha256")? {
        if !claimed.eq_ignore_ascii_case(&payload_hash) {
            return Err(AuthError::mismatch(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
    }

    let key = match store.lookup(&auth.access_key_id).await {
        Ok(Some(key)) if key.status == KeyStatus::Active => key,
        Ok(_) => return Err(AuthError::unrecognized()),
        Err(e) => {
            let mut err = AuthError::new(
                AuthErrorKind::Internal,
                "An internal error occurred while checking the request's credentials.",
            );
            err.detail = Some(e.to_string());
            return Err(err);
        }
    };

    let canonical = canonical_request(method, uri, headers, &auth, &payload_hash);
    let scope = sigv4::credential_scope(&auth.scope_date, &auth.scope_region, &auth.scope_service);
    let string_to_sign = sigv4::string_to_sign(&amz_date, &scope, &canonical);
    let signing_key = sigv4::signing_key(
        key.secret.expose(),
        &auth.scope_date,
        &auth.scope_region,
        &auth.scope_service,
    );
    if !sigv4::signature_matches(&signing_key, &string_to_sign, &auth.signature) {
        // Coral's wording, including the canonical forms: they hold
        // nothing secret and are the only practical way to debug a
        // proxy that rewrote a header or the path.
        return Err(AuthError::mismatch(format!(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.\n\nThe Canonical String for this request should have \
             been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
        )));
    }

    if let Some(cache) = replay {
        // Only verified signatures enter the cache, so unsigned junk
        // cannot flush it.
        let expires_at = signed_at.saturating_add(config.max_skew_ms);
        if !cache.check_and_insert(&auth.signature, expires_at, now) {
            return Err(AuthError::new(
                AuthErrorKind::Replayed,
                "Signature has already been used: this request was replayed.",
            ));
        }
    }

    Ok(Principal {
        access_key_id: key.access_key_id,
        name: key.name,
        region: auth.scope_region,
    })
}

fn check_skew(
    config: &VerifierConfig,
    amz_date: &str,
    signed_at: i64,
    now: i64,
) -> Result<(), AuthError> {
    let skew = config.max_skew_ms;
    let minutes = skew / 60_000;
    if signed_at < now.saturating_sub(skew) {
        return Err(AuthError::new(
            AuthErrorKind::SignatureExpired,
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - {minutes} min.)",
                format_amz_date(now.saturating_sub(skew)),
                format_amz_date(now)
            ),
        ));
    }
    if signed_at > now.saturating_add(skew) {
        return Err(AuthError::new(
            AuthErrorKind::SignatureNotYetCurrent,
            format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + {minutes} min.)",
                format_amz_date(now.saturating_add(skew)),
                format_amz_date(now)
            ),
        ));
    }
    Ok(())
}

fn check_scope(
    config: &VerifierConfig,
    auth: &Authorization,
    amz_date: &str,
) -> Result<(), AuthError> {
    // `amz_date` parsed as 16 ASCII characters, so the slice exists.
    let day = amz_date.get(..8).unwrap_or_default();
    if auth.scope_date != day {
        return Err(AuthError::mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
            auth.scope_date
        )));
    }
    if auth.scope_service != config.service {
        return Err(AuthError::mismatch(format!(
            "Credential should be scoped to correct service: '{}'. ",
            config.service
        )));
    }
    if auth.scope_terminator != sigv4::TERMINATOR {
        return Err(AuthError::mismatch(format!(
            "Credential should be scoped with a valid terminator: '{}', not '{}'. ",
            sigv4::TERMINATOR,
            auth.scope_terminator
        )));
    }
    if let Some(region) = &config.region {
        if &auth.scope_region != region {
            return Err(AuthError::mismatch(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.scope_region
            )));
        }
    }
    Ok(())
}

/// The parts of a SigV4 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization {
    access_key_id: String,
    scope_date: String,
    scope_region: String,
    scope_service: String,
    scope_terminator: String,
    /// Lower-case names, in the client's order.
    signed_headers: Vec<String>,
    /// As the client wrote it (it is a line of the canonical request).
    signed_headers_raw: String,
    signature: String,
}

fn parse_authorization(uri: &Uri, headers: &HeaderMap) -> Result<Authorization, AuthError> {
    let Some(value) = single_header(headers, "authorization")? else {
        if uri.query().is_some_and(|q| q.contains("X-Amz-Signature=")) {
            return Err(AuthError::incomplete(
                "Query-string (presigned) authentication is not supported; sign the Authorization header.",
            ));
        }
        return Err(AuthError::new(
            AuthErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    };
    let Some(rest) = value.strip_prefix(sigv4::ALGORITHM) else {
        return Err(AuthError::incomplete(format!(
            "Unsupported authorization type: only {} (Signature Version 4) is accepted.",
            sigv4::ALGORITHM
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, val)) = part.split_once('=') else {
            return Err(AuthError::incomplete(format!(
                "Authorization header requires each component to be name=value, got '{part}'."
            )));
        };
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(AuthError::incomplete(format!(
                    "Authorization header has an unknown component '{other}'."
                )))
            }
        };
        if slot.replace(val.trim().to_owned()).is_some() {
            return Err(AuthError::incomplete(format!(
                "Authorization header has component '{}' twice.",
                name.trim()
            )));
        }
    }
    let mut missing = Vec::new();
    for (name, slot) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed_headers),
    ] {
        if slot.as_deref().is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed_headers_raw), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(AuthError::incomplete(missing.join(" ")));
    };
    if !missing.is_empty() {
        return Err(AuthError::incomplete(missing.join(" ")));
    }

    let elements: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, terminator] = elements.as_slice() else {
        return Err(AuthError::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if akid.is_empty() {
        return Err(AuthError::unrecognized());
    }
    let signed_headers: Vec<String> = signed_headers_raw
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(AuthError::incomplete(format!(
            "SignedHeaders has an empty header name: '{signed_headers_raw}'."
        )));
    }
    Ok(Authorization {
        access_key_id: (*akid).to_owned(),
        scope_date: (*date).to_owned(),
        scope_region: (*region).to_owned(),
        scope_service: (*service).to_owned(),
        scope_terminator: (*terminator).to_owned(),
        signed_headers,
        signed_headers_raw,
        signature,
    })
}

/// Headers that must be covered by the signature. `host` and the date are
/// SigV4's own minimum. `x-amz-target` names the action in awsJson: if it
/// were unsigned, a captured `DescribeExecution` could be replayed as
/// `StopExecution` with the same body. Every SDK signs it anyway.
fn check_signed_headers(auth: &Authorization, headers: &HeaderMap) -> Result<(), AuthError> {
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    for required in ["host", "x-amz-date"] {
        if !signed(required) {
            return Err(AuthError::incomplete(format!(
                "'{required}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    for sensitive in ["x-amz-target"] {
        if headers.contains_key(sensitive) && !signed(sensitive) {
            return Err(AuthError::incomplete(format!(
                "'{sensitive}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    Ok(())
}

fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    auth: &Authorization,
    payload_hash: &str,
) -> String {
    let values: Vec<(String, Vec<String>)> = auth
        .signed_headers
        .iter()
        .map(|name| {
            let mut vals: Vec<String> = headers
                .get_all(name.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            // HTTP/2 (and some test clients) carry the host in the URI's
            // authority instead of a Host header.
            if vals.is_empty() && name == "host" {
                if let Some(authority) = uri.authority() {
                    vals.push(authority.as_str().to_owned());
                }
            }
            (name.clone(), vals)
        })
        .collect();
    sigv4::canonical_request(
        method.as_str(),
        uri.path(),
        uri.query(),
        &values,
        &auth.signed_headers_raw.to_ascii_lowercase(),
        payload_hash,
    )
}

/// The one value of header `name`; two values are refused because the
/// client and the server could then disagree on which one counts.
fn single_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, AuthError> {
    let mut all = headers.get_all(name).iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(AuthError::incomplete(format!(
            "The request has more than one '{name}' header."
        )));
    }
    match first.to_str() {
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(_) => Err(AuthError::incomplete(format!(
            "The '{name}' header is not valid ASCII."
        ))),
    }
}

/// `YYYYMMDDTHHMMSSZ` to epoch milliseconds.
fn parse_amz_date(value: &str) -> Result<i64, AuthError> {
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
        .ok()
        .filter(|_| value.len() == 16)
        .map(|dt| dt.and_utc().timestamp_millis())
        .ok_or_else(|| {
            AuthError::incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })
}

fn format_amz_date(epoch_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(epoch_ms)
        .map(|dt| dt.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| epoch_ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_parse_strictly() {
        assert_eq!(
            parse_amz_date("20150830T123600Z").unwrap(),
            1_440_938_160_000
        );
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_err());
        assert!(parse_amz_date("20150830T123600").is_err());
        assert_eq!(format_amz_date(1_440_938_160_000), "20150830T123600Z");
    }

    #[test]
    fn authorization_header_parses() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
                .parse()
                .unwrap(),
        );
        let a = parse_authorization(&Uri::from_static("/"), &h).unwrap();
        assert_eq!(a.access_key_id, "AKID");
        assert_eq!(a.scope_region, "us-east-1");
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(a.signature, "abcd");
    }

    #[test]
    fn incomplete_headers_name_what_is_missing() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request"
                .parse()
                .unwrap(),
        );
        let e = parse_authorization(&Uri::from_static("/"), &h).unwrap_err();
        assert_eq!(e.kind, AuthErrorKind::IncompleteSignature);
        assert!(e.message.contains("'Signature'"), "{}", e.message);
        assert!(e.message.contains("'SignedHeaders'"), "{}", e.message);

        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/states/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        let e = parse_authorization(&Uri::from_static("/"), &h).unwrap_err();
        assert!(e.message.contains("5 slash-delimited"), "{}", e.message);
    }
}
