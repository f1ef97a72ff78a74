CREATE TYPE "public"."direction" AS ENUM('a2b', 'b2a');--> statement-breakpoint
CREATE TYPE "public"."generation_status" AS ENUM('ok', 'failed');--> statement-breakpoint
CREATE TYPE "public"."vote" AS ENUM('up', 'down');--> statement-breakpoint
CREATE TABLE "attribute_reports" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "attribute_reports_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"generation_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"attribute" text NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attribute_reports_note_length" CHECK (char_length("attribute_reports"."note") <= 500)
);
--> statement-breakpoint
CREATE TABLE "generations" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "generations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" text,
	"guild_id" text,
	"channel_id" text NOT NULL,
	"interaction_id" text,
	"message_id" text,
	"direction" "direction" NOT NULL,
	"model_version" text NOT NULL,
	"input_sha256" text,
	"faces_found" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"status" "generation_status" NOT NULL,
	"error_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"anonymised_at" timestamp with time zone,
	CONSTRAINT "generations_faces_found_nonneg" CHECK ("generations"."faces_found" >= 0),
	CONSTRAINT "generations_latency_ms_nonneg" CHECK ("generations"."latency_ms" >= 0),
	CONSTRAINT "generations_input_sha256_hex" CHECK ("generations"."input_sha256" IS NULL OR "generations"."input_sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "model_versions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"version" text NOT NULL,
	"direction" "direction" NOT NULL,
	"file_sha256" text NOT NULL,
	"notes" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_file_sha256_hex" CHECK ("model_versions"."file_sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "ratings" (
	"generation_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"value" "vote" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ratings_generation_id_user_id_pk" PRIMARY KEY("generation_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "attribute_reports" ADD CONSTRAINT "attribute_reports_generation_id_generations_id_fk" FOREIGN KEY ("generation_id") REFERENCES "public"."generations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_generation_id_generations_id_fk" FOREIGN KEY ("generation_id") REFERENCES "public"."generations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "attribute_reports_generation_user_attribute_uq" ON "attribute_reports" USING btree ("generation_id","user_id","attribute");--> statement-breakpoint
CREATE INDEX "attribute_reports_user_id_idx" ON "attribute_reports" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "generations_message_id_uq" ON "generations" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "generations_user_id_idx" ON "generations" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "generations_direction_version_idx" ON "generations" USING btree ("direction","model_version","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_direction_version_uq" ON "model_versions" USING btree ("direction","version");--> statement-breakpoint
CREATE INDEX "ratings_user_id_idx" ON "ratings" USING btree ("user_id");