DROP TABLE voice_previews;
DROP TABLE audios;
DROP TABLE pages;
DROP TABLE documents;
