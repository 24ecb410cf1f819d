// The thread header's "Conversation actions" menu: mute, archive, mark unread, delete for me,
// block, and report. Each action says what happened in words and keeps the inbox in step.

import { api } from '../api.js';
import { toast } from '../dom.js';
import { confirmDialog, menuButton } from './dialogs.js';
import { otherParticipants } from './inbox.js';
import { expectOwnRemoval } from './participants.js';

/**
 * Report slot: `web/js/views/report.js` exporting `openReportDialog(conversation)` (issue 12)
 * is picked up when it exists; until then the menu has no "Report" item.
 */
let reportModule;
async function reportDialog() {
  if (reportModule === undefined) {
    try { reportModule = await import('./report.js'); } catch { reportModule = null; }
  }
  return reportModule?.openReportDialog || null;
}

export function conversationMenu(thread) {
  const { app } = thread;
  const patch = async (change, done) => {
    try {
      const { conversation } = await api.patchConversation(thread.id, change);
      thread.conversation = conversation;
      thread.renderHead();
      app.inbox?.scheduleReload();
      toast(done);
      return true;
    } catch (err) { toast(err.message); return false; }
  };
  return menuButton({
    label: 'Conversation actions',
    items: async () => {
      await thread.ready; // opened while the thread was still loading
      const c = thread.conversation;
      if (!c) return [];
      const others = otherParticipants(app, c);
      const one = others.length === 1 && others[0].handle ? others[0] : null;
      const openReport = await reportDialog();
      const blocked = one ? await api.blocked().then((r) => r.blocked.some((m) => m.handle === one.handle), () => false) : false;
      return [
        {
          label: c.muted ? 'Unmute conversation' : 'Mute conversation',
          onSelect: () => patch({ muted: !c.muted }, c.muted ? 'Conversation unmuted.' : 'Conversation muted: it will not notify you.'),
        },
        {
          label: c.archived ? 'Move to inbox' : 'Archive conversation',
          onSelect: async () => {
            const archived = !c.archived;
            if (await patch({ archived }, archived ? 'Conversation archived.' : 'Conversation moved to your inbox.') && archived) app.navigate('#/inbox');
          },
        },
        { label: 'Mark as unread', onSelect: () => thread.markUnread() },
        {
          label: 'Delete conversation for me',
          danger: true,
          onSelect: async () => {
            const ok = await confirmDialog({
              title: 'Delete this conversation?',
              text: 'It leaves your inbox and its history is cleared for you. The others keep their copy. A new message starts it again.',
              confirm: 'Delete for me',
              danger: true,
            });
            if (!ok) return;
            expectOwnRemoval(app, thread.id);
            try {
              await api.deleteConversation(thread.id);
              toast('Conversation deleted for you.');
              app.inbox?.scheduleReload();
              app.navigate('#/inbox');
            } catch (err) { app.ownRemovals?.delete(String(thread.id)); toast(err.message); }
          },
        },
        one && blocked ? {
          label: `Unblock ${one.name || one.handle}`,
          onSelect: async () => {
            try {
              await api.unblock(one.handle);
              toast(`You unblocked ${one.name || one.handle}.`);
            } catch (err) { toast(err.message); }
          },
        } : null,
        one && !blocked ? {
          label: `Block ${one.name || one.handle}`,
          danger: true,
          onSelect: async () => {
            const ok = await confirmDialog({
              title: `Block ${one.name || one.handle}?`,
              text: `Neither of you will be able to message or invite the other, or see each other’s profile, typing or read receipts. ${one.name || one.handle} is not told. You can unblock in Settings.`,
              confirm: 'Block',
              danger: true,
            });
            if (!ok) return;
            try {
              await api.block(one.handle);
              toast(`You blocked ${one.name || one.handle}.`);
              app.inbox?.scheduleReload();
            } catch (err) { toast(err.message); }
          },
        } : null,
        openReport ? { label: 'Report conversation', danger: true, onSelect: () => openReport(c) } : null,
      ];
    },
  });
}
