CREATE TYPE "public"."output_mode" AS ENUM('face', 'photo', 'side_by_side');--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_mode" "output_mode" DEFAULT 'face' NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "parent_generation_id" bigint;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_parent_generation_id_generations_id_fk" FOREIGN KEY ("parent_generation_id") REFERENCES "public"."generations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "generations_parent_generation_id_idx" ON "generations" USING btree ("parent_generation_id");