//! Outgoing mail: over SMTP when a server is configured, otherwise as `.eml` files in a local
//! spool directory (for development and tests). Mail bodies can carry one-time tokens, so
//! nothing here logs a recipient, a subject or a body.

use std::path::PathBuf;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A mail that could not be built or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address could not be parsed.
    #[error("invalid mail address")]
    InvalidAddress,
    /// The message could not be assembled.
    #[error("mail could not be built")]
    Build(#[source] lettre::error::Error),
    /// The SMTP server or the spool refused the message.
    #[error("mail could not be delivered")]
    Delivery(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The SMTP URL is not usable.
    #[error("invalid SMTP URL")]
    InvalidSmtpUrl,
}

/// One plain-text mail to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (ASCII keeps links intact in every client).
    pub body: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Spool(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends mail through the configured transport. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Spool(..) => "spool",
        };
        f.debug_struct("Mailer").field("transport", &kind).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Sends over SMTP to the server in `url` (`smtp://`, `smtps://`, with credentials).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| MailError::InvalidSmtpUrl)?
            .build();

        Ok(Self { transport: Transport::Smtp(transport), from: parse_mailbox(from)? })
    }

    /// Writes every mail as an `.eml` file under `dir` (created if missing).
    pub fn spool(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir).map_err(|err| MailError::Delivery(Box::new(err)))?;
        let transport = AsyncFileTransport::<Tokio1Executor>::new(&dir);

        Ok(Self { transport: Transport::Spool(transport, dir), from: parse_mailbox(from)? })
    }

    /// The spool directory, when mail goes to files.
    pub fn spool_dir(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::Spool(_, dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Delivers one mail.
    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let body = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(mail.body);
        let message = Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(&mail.to)?)
            .subject(mail.subject)
            .singlepart(body)
            .map_err(MailError::Build)?;

        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(|err| MailError::Delivery(Box::new(err)))?;
            }
            Transport::Spool(spool, _) => {
                spool.send(message).await.map_err(|err| MailError::Delivery(Box::new(err)))?;
            }
        }

        Ok(())
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|_| MailError::InvalidAddress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spooled_mail_lands_as_eml_file() {
        let dir = std::env::temp_dir().join(format!("orator-mail-{}", std::process::id()));
        let mailer = Mailer::spool(dir.clone(), "Orator <no-reply@example.com>").unwrap();

        let mail = Mail {
            to: "reader@example.com".to_owned(),
            subject: "Hello".to_owned(),
            body: "Open https://example.com/verify?token=abc_DEF-123 to continue.".to_owned(),
        };
        mailer.send(mail).await.unwrap();

        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(text.contains("To: reader@example.com"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
