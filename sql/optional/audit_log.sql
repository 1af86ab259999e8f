-- Optional module: the "AuditLog" table of an earlier Mentara data model
-- (data-model.md, Appendix). Apply on top of sql/schema.sql. Same conventions.

-- CreateEnum
CREATE TYPE "AuditAction" AS ENUM ('USER_LOGIN', 'USER_LOGOUT', 'USER_REGISTER', 'USER_UPDATE_PROFILE', 'USER_DELETE_ACCOUNT', 'USER_CHANGE_PASSWORD', 'USER_RESET_PASSWORD', 'THERAPIST_APPLICATION_SUBMIT', 'THERAPIST_APPLICATION_APPROVE', 'THERAPIST_APPLICATION_REJECT', 'THERAPIST_PROFILE_UPDATE', 'THERAPIST_AVAILABILITY_UPDATE', 'MEETING_CREATE', 'MEETING_UPDATE', 'MEETING_CANCEL', 'MEETING_COMPLETE', 'MEETING_NO_SHOW', 'WORKSHEET_CREATE', 'WORKSHEET_ASSIGN', 'WORKSHEET_SUBMIT', 'WORKSHEET_GRADE', 'REVIEW_CREATE', 'REVIEW_UPDATE', 'REVIEW_DELETE', 'REVIEW_MODERATE', 'MESSAGE_SEND', 'MESSAGE_EDIT', 'MESSAGE_DELETE', 'MESSAGE_REPORT', 'ADMIN_USER_SUSPEND', 'ADMIN_USER_ACTIVATE', 'ADMIN_CONTENT_MODERATE', 'ADMIN_SYSTEM_CONFIG', 'SYSTEM_BACKUP', 'SYSTEM_MAINTENANCE', 'SYSTEM_ERROR', 'DATA_EXPORT', 'DATA_PURGE');

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" TEXT NOT NULL,
    "action" "AuditAction" NOT NULL,
    "entity" TEXT NOT NULL,
    "entityId" TEXT NOT NULL,
    "userId" TEXT,
    "userRole" TEXT,
    "oldValues" JSONB,
    "newValues" JSONB,
    "description" TEXT,
    "metadata" JSONB,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "requestId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditLog_userId_idx" ON "AuditLog"("userId");

-- CreateIndex
CREATE INDEX "AuditLog_action_idx" ON "AuditLog"("action");

-- CreateIndex
CREATE INDEX "AuditLog_entity_idx" ON "AuditLog"("entity");

-- CreateIndex
CREATE INDEX "AuditLog_entityId_idx" ON "AuditLog"("entityId");

-- CreateIndex
CREATE INDEX "AuditLog_createdAt_idx" ON "AuditLog"("createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_requestId_idx" ON "AuditLog"("requestId");

-- AddForeignKey
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
