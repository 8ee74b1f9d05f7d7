"""aiosqlite storage: schema and migrations, repositories, the media store."""
