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
