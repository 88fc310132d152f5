-- Where a call's body held NUL characters. Postgres text cannot hold U+0000, so generation_calls.raw_body stores U+FFFD
-- in its place (PostgresText.Storable), and a delivery that judged the answer again from that stored copy (after a
-- failure-store outage, a crash or a lost lease) saw U+FFFD: a body whose only fault was raw NULs then parsed, and was
-- judged as the JSON it had become. The positions (UTF-16 code units, as .NET counts them) let the reader put the NULs
-- back, so the stored capture is judged as the answer was. NULL for every body without one.
ALTER TABLE generation_calls ADD COLUMN raw_body_nuls integer[];
