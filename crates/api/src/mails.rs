//! The mails the API sends. Delivery failures are logged without the address or the link,
//! and never fail the request: the user can ask again.

use orator_mail::Mail;

use crate::state::AppState;

fn link(state: &AppState, page: &str, token: &str) -> String {
    let mut url = state.config.public_url.clone();
    url.set_path(page);
    url.query_pairs_mut().clear().append_pair("token", token);
    url.to_string()
}

fn hours(secs: u64) -> u64 {
    (secs / 3600).max(1)
}

async fn deliver(state: &AppState, mail: Mail, kind: &'static str) {
    if let Err(err) = state.mailer.send(mail).await {
        tracing::warn!(mail.kind = kind, error = %err, "mail not delivered");
    }
}

/// Sends the email-verification link.
pub async fn send_verification(state: &AppState, to: &str, token: &str) {
    let body = format!(
        "Welcome to Orator.\r\n\r\nConfirm your email address by opening this link:\r\n\r\n{}\r\n\r\n\
         The link expires in {} hours. If you did not create an account, ignore this mail.\r\n",
        link(state, "/verify-email", token),
        hours(state.config.verify_email_ttl_secs),
    );
    let mail = Mail { to: to.to_owned(), subject: "Confirm your email address".to_owned(), body };

    deliver(state, mail, "verify_email").await;
}

/// Sends the password-reset link.
pub async fn send_password_reset(state: &AppState, to: &str, token: &str) {
    let body = format!(
        "Someone asked to reset the password of your Orator account.\r\n\r\n\
         To choose a new password, open this link:\r\n\r\n{}\r\n\r\n\
         The link expires in {} hours. If it was not you, ignore this mail.\r\n",
        link(state, "/reset-password", token),
        hours(state.config.password_reset_ttl_secs),
    );
    let mail = Mail { to: to.to_owned(), subject: "Reset your password".to_owned(), body };

    deliver(state, mail, "password_reset").await;
}

/// Tells someone a document was shared with them: a notice when the address has an account,
/// an invitation to register otherwise. Either way one mail goes out, so the sharer learns
/// nothing about the address.
pub async fn send_share_notice(
    state: &AppState,
    to: &str,
    sharer: &str,
    title: &str,
    has_account: bool,
) {
    let sharer: String = sharer.chars().filter(|c| !c.is_control()).take(100).collect();
    let title: String = title.chars().filter(|c| !c.is_control()).take(255).collect();
    let mut url = state.config.public_url.clone();
    let body = if has_account {
        url.set_path("/shared-with-me");
        format!(
            "{sharer} shared \"{title}\" with you on Orator.\r\n\r\nListen to it here:\r\n\r\n{url}\r\n"
        )
    } else {
        url.set_path("/register");
        url.query_pairs_mut().clear().append_pair("email", to);
        format!(
            "{sharer} invited you to listen to \"{title}\" on Orator.\r\n\r\n\
             Create an account with this address to open it:\r\n\r\n{url}\r\n"
        )
    };
    let mail =
        Mail { to: to.to_owned(), subject: format!("{sharer} shared a document with you"), body };

    deliver(state, mail, "share_notice").await;
}
