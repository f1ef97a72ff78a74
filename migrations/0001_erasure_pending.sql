ALTER TYPE "public"."generation_status" ADD VALUE 'pending';--> statement-breakpoint
ALTER TABLE "generations" ALTER COLUMN "channel_id" DROP NOT NULL;