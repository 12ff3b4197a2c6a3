-- How many times the processor started processing each photo. Counted before the pixels are
-- decoded, so a photo that kills the processor every time (out of memory, a crash in a
-- decoder) is seen on its next delivery and sent to the dead-letter topic instead of looping.
ALTER TABLE photos ADD COLUMN processing_attempts int NOT NULL DEFAULT 0
    CHECK (processing_attempts >= 0);
