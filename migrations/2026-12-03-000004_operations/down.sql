DROP TABLE notifications;
DROP TABLE task_failures;
DROP TABLE job_outbox;
DROP TABLE admin_audit_log;
DROP TABLE site_settings;
