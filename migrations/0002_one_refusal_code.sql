-- Issue 9: one code per upload refusal across bot and inference. Rows written before it used the
-- bot's or inference's own name; rename them so statistics count each refusal under one code
-- (src/shared/upload-refusal.ts LEGACY_REFUSAL_CODES holds the same table).
UPDATE "generations" SET "error_code" = CASE "error_code"
  WHEN 'UNSUPPORTED_TYPE' THEN 'UNSUPPORTED_FORMAT'
  WHEN 'TOO_LARGE' THEN 'FILE_TOO_LARGE'
  WHEN 'IMAGE_TOO_BIG' THEN 'TOO_MANY_PIXELS'
END
WHERE "error_code" IN ('UNSUPPORTED_TYPE', 'TOO_LARGE', 'IMAGE_TOO_BIG');
