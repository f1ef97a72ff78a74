CREATE TYPE "public"."generation_source" AS ENUM('discord', 'cli');--> statement-breakpoint
CREATE TYPE "public"."output_mode" AS ENUM('face', 'photo', 'side_by_side');--> statement-breakpoint
ALTER TYPE "public"."generation_status" ADD VALUE 'pending';--> statement-breakpoint
CREATE TABLE "generation_audits" (
	"generation_id" bigint PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"analyser" text NOT NULL,
	"trust" text NOT NULL,
	"identity_similarity" real,
	"input_gender" text,
	"input_gender_probability" real,
	"input_age" real,
	"output_gender" text,
	"output_gender_probability" real,
	"output_age" real,
	"glasses" text DEFAULT 'unknown' NOT NULL,
	"hands" text DEFAULT 'unknown' NOT NULL,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "generation_audits_status" CHECK ("generation_audits"."status" IN ('ok', 'no_input_face', 'no_output_face', 'no_face')),
	CONSTRAINT "generation_audits_trust" CHECK ("generation_audits"."trust" IN ('weak', 'meaningful')),
	CONSTRAINT "generation_audits_genders" CHECK ("generation_audits"."input_gender" IS NULL OR "generation_audits"."input_gender" IN ('male', 'female')),
	CONSTRAINT "generation_audits_output_gender" CHECK ("generation_audits"."output_gender" IS NULL OR "generation_audits"."output_gender" IN ('male', 'female')),
	CONSTRAINT "generation_audits_similarity_range" CHECK ("generation_audits"."identity_similarity" IS NULL OR ("generation_audits"."identity_similarity" >= -1 AND "generation_audits"."identity_similarity" <= 1)),
	CONSTRAINT "generation_audits_duration_nonneg" CHECK ("generation_audits"."duration_ms" >= 0)
);
--> statement-breakpoint
ALTER TABLE "generations" ALTER COLUMN "channel_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "source" "generation_source" DEFAULT 'discord' NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_mode" "output_mode" DEFAULT 'face' NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "parent_generation_id" bigint;--> statement-breakpoint
ALTER TABLE "generation_audits" ADD CONSTRAINT "generation_audits_generation_id_generations_id_fk" FOREIGN KEY ("generation_id") REFERENCES "public"."generations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_parent_generation_id_generations_id_fk" FOREIGN KEY ("parent_generation_id") REFERENCES "public"."generations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "generations_parent_generation_id_idx" ON "generations" USING btree ("parent_generation_id");