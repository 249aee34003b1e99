// Four eyes on campaigns: a campaign created while approvals are on waits in pending_approval
// until an admin (or the owner) who did not create it approves or rejects it. The buttons show
// only to a role with campaigns:approve; the server also refuses the campaign's creator (403).

import { post } from "./api.js";
import { confirmDialog, field, h, notify, run } from "./ui.js";

export const STATUSES = {
  pending_approval: ["待审批", "warn"],
  rejected: ["已驳回", "muted"],
};

async function decide(campaign, approve, button) {
  const comment = h("textarea", { class: "input", id: "approval-comment", rows: 3, maxlength: 1000, placeholder: approve ? "备注（可选）" : "驳回原因（必填）" });
  const ok = await confirmDialog(
    approve ? `批准「${campaign.name}」？批准后将按计划时间发送。` : `驳回「${campaign.name}」？驳回后不会发送。`,
    { ok: approve ? "批准" : "驳回", danger: !approve, extra: field(approve ? "备注" : "驳回原因", comment) },
  );
  if (!ok) return null;
  const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
  const path = `/admin/campaigns/${encodeURIComponent(campaign.id)}/${approve ? "approve" : "reject"}`;
  const done = await run(button, () => post(path, body));
  if (done) notify(approve ? `已批准「${campaign.name}」` : `已驳回「${campaign.name}」`);
  return done || null;
}

// Approve and reject buttons for a pending campaign (nothing otherwise); `after` runs once the
// decision is made (to redraw).
export function approvalButtons(campaign, after, small = false) {
  if (campaign.status !== "pending_approval") return null;
  const cls = small ? "btn btn-small" : "btn";
  return h(
    "span",
    { class: "approval-actions", "data-permission": "campaigns:approve" },
    h("button", { type: "button", class: `${cls} btn-approve`, "data-role": "campaign-approve", "data-readonly-ok": true, onclick: async (event) => { if (await decide(campaign, true, event.target)) after(); } }, "批准"),
    h("button", { type: "button", class: `${cls} btn-reject`, "data-role": "campaign-reject", "data-readonly-ok": true, onclick: async (event) => { if (await decide(campaign, false, event.target)) after(); } }, "驳回"),
  );
}

// Who created it and who decided, for the campaign's facts.
export function approvalFacts(campaign) {
  const facts = [];
  if (campaign.created_by) facts.push(["创建人", campaign.created_by]);
  if (campaign.approved_by) facts.push(["批准人", campaign.approved_by]);
  if (campaign.rejected_by) facts.push(["驳回人", campaign.rejected_by]);
  if (campaign.decision_comment) facts.push(["审批意见", campaign.decision_comment]);
  return facts;
}

