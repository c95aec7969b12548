-- What each item costs for each patient category, in paise.
CREATE TABLE tariffs (
	item     TEXT NOT NULL,
	category TEXT NOT NULL,
	paise    INTEGER NOT NULL,
	PRIMARY KEY (item, category)
) WITHOUT ROWID;
