// Attached files: uploading (with progress, cancel and retry), refusing what the server would
// refuse before a byte is sent, and showing files in messages (images inline from their
// thumbnail with a lightbox, native audio and video players, other files as a card).

import { auth, limits } from '../api.js';
import { h, clear, icon } from '../dom.js';

/**
 * The one place that turns an attachment into a URL an element can load.
 * `variant`: 'file' (inline), 'thumbnail', or 'download' (served as an attachment).
 * Downloads authenticate with `?token=` today, since <img>, <audio> and <video> cannot send a
 * header; when downloads authenticate another way, only this function changes.
 */
export function attachmentUrl(attachment, variant = 'file') {
  const base = variant === 'thumbnail' && attachment.thumbnail_url ? attachment.thumbnail_url : attachment.url;
  const params = new URLSearchParams();
  if (variant === 'download') params.set('download', 'true');
  if (auth.token) params.set('token', auth.token);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

const TYPE_WORDS = [
  [/^image\//, 'Image'], [/^audio\//, 'Audio'], [/^video\//, 'Video'], [/pdf$/, 'PDF document'],
  [/(word|msword|opendocument\.text)/, 'Word document'], [/(sheet|excel|csv)/, 'Spreadsheet'],
  [/(presentation|powerpoint)/, 'Presentation'], [/(zip|tar|gzip|7z|rar)/, 'Archive'], [/^text\//, 'Text'],
];

export function typeWords(contentType = '') {
  return TYPE_WORDS.find(([re]) => re.test(contentType))?.[1] || 'File';
}

/** What the inbox shows for a message that is only files: "📎 report.pdf" (+ "and 2 more"). */
export function filesPreview(attachments) {
  if (!attachments?.length) return '';
  const more = attachments.length - 1;
  return `📎 ${attachments[0].name}${more ? ` and ${more} more` : ''}`;
}

// ---- showing files in a message -----------------------------------------------------

export function renderAttachments(attachments) {
  if (!attachments?.length) return null;
  return h('ul', { class: 'att-list', 'aria-label': attachments.length === 1 ? 'Attachment' : `${attachments.length} attachments` },
    attachments.map((a) => h('li', { class: 'att-item', dataset: { testid: 'attachment' } }, renderOne(a))));
}

function renderOne(a) {
  const type = a.content_type || '';
  if (a.thumbnail_url) {
    const img = h('img', {
      class: 'att-thumb', src: attachmentUrl(a, 'thumbnail'), alt: a.name, loading: 'lazy', decoding: 'async',
    });
    return h('button', {
      type: 'button', class: 'att-image', 'aria-label': `Open image ${a.name}`, onclick: () => openLightbox(a),
    }, img);
  }
  if (type.startsWith('audio/')) {
    return h('figure', { class: 'att-media' },
      h('audio', { controls: true, preload: 'none', src: attachmentUrl(a), 'aria-label': a.name }),
      h('figcaption', { class: 'att-caption' }, a.name, ' · ', formatBytes(a.size)));
  }
  if (type.startsWith('video/')) {
    return h('figure', { class: 'att-media' },
      h('video', { controls: true, preload: 'metadata', src: attachmentUrl(a), 'aria-label': a.name, class: 'att-video' }),
      h('figcaption', { class: 'att-caption' }, a.name, ' · ', formatBytes(a.size)));
  }
  return h('div', { class: 'att-card' },
    h('span', { class: 'att-icon', 'aria-hidden': 'true' }, icon('file')),
    h('span', { class: 'att-meta' },
      h('span', { class: 'att-name' }, a.name),
      h('span', { class: 'att-sub' }, `${typeWords(type)} · ${formatBytes(a.size)}`)),
    h('a', {
      class: 'btn btn-ghost btn-icon btn-tiny', href: attachmentUrl(a, 'download'), download: a.name,
      rel: 'noopener noreferrer', 'aria-label': `Download ${a.name}`, title: 'Download',
    }, icon('download')));
}

function openLightbox(a) {
  document.getElementById('lightbox')?.remove();
  const opener = document.activeElement;
  const close = h('button', { type: 'button', class: 'btn btn-ghost btn-icon lightbox-close', 'aria-label': 'Close image' }, icon('close'));
  const dialog = h('dialog', { id: 'lightbox', class: 'lightbox', 'aria-label': a.name },
    h('div', { class: 'lightbox-bar' },
      h('span', { class: 'lightbox-name' }, a.name),
      h('a', {
        class: 'btn btn-ghost btn-icon', href: attachmentUrl(a, 'download'), download: a.name,
        rel: 'noopener noreferrer', 'aria-label': `Download ${a.name}`, title: 'Download',
      }, icon('download')),
      close),
    h('img', { class: 'lightbox-img', src: attachmentUrl(a), alt: a.name }));
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  dialog.addEventListener('close', () => { dialog.remove(); if (opener?.isConnected) opener.focus(); });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
}

// ---- uploading ------------------------------------------------------------------------

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Words for a refusal, the server's or ours: never a status code on its own. */
export function uploadError(status, name, limitBytes) {
  if (status === 0) return `${name} did not upload: the connection dropped. Try again.`;
  if (status === 413) return `${name} is too large: files can be at most ${formatBytes(limitBytes)}.`;
  if (status === 415) return `${name} can’t be attached: programs and scripts are not allowed, only documents, images, audio, video or archives.`;
  if (status === 429) return `Too many uploads at once. Wait a moment, then try ${name} again.`;
  if (status === 401) return 'Your session ended. Sign in again to attach files.';
  return `${name} did not upload (the server answered ${status}). Try again.`;
}

/** POST /attachments with XMLHttpRequest, for its upload progress; returns {promise, abort}. */
export function uploadFile(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.open('POST', '/api/v1/attachments');
    if (auth.token) xhr.setRequestHeader('Authorization', `Bearer ${auth.token}`);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      if (xhr.status === 201) resolve(xhr.response.attachment);
      else reject(Object.assign(new Error(xhr.response?.error?.message || 'Upload failed'), { status: xhr.status }));
    });
    xhr.addEventListener('error', () => reject(Object.assign(new Error('network'), { status: 0 })));
    xhr.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { status: -1 })));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/**
 * The files waiting to go with the next message: each uploads at once, shows its progress,
 * can be cancelled, removed, or retried after a network error. `onChange` runs after every change.
 */
export class UploadTray {
  constructor({ onChange, announce }) {
    this.items = [];
    this.onChange = onChange || (() => {});
    this.say = announce || (() => {});
    this.el = h('ul', { class: 'upload-tray', 'aria-label': 'Files to send', hidden: true, 'data-testid': 'upload-tray' });
    this.problem = h('p', { class: 'upload-problem', role: 'alert', hidden: true });
    this.limits = null;
    limits().then((l) => { this.limits = l; });
  }

  get ids() { return this.items.filter((i) => i.state === 'done').map((i) => i.attachment.id); }
  get busy() { return this.items.some((i) => i.state === 'uploading'); }
  get failed() { return this.items.some((i) => i.state === 'error'); }
  get count() { return this.items.length; }

  clear() {
    for (const item of this.items) item.upload?.abort();
    this.items = [];
    this.render();
  }

  showProblem(text) {
    this.problem.textContent = text;
    this.problem.hidden = !text;
  }

  async add(fileList) {
    const l = this.limits || await limits();
    const problems = [];
    for (const file of fileList) {
      if (this.items.length >= l.max_attachments_per_message) {
        problems.push(`A message can carry at most ${l.max_attachments_per_message} files; ${file.name} was left out.`);
        continue;
      }
      if (l.refused_extensions.includes(extensionOf(file.name))) {
        problems.push(uploadError(415, file.name, l.max_attachment_bytes));
        continue;
      }
      if (file.size > l.max_attachment_bytes) {
        problems.push(uploadError(413, file.name, l.max_attachment_bytes));
        continue;
      }
      if (file.size === 0) {
        problems.push(`${file.name} is empty.`);
        continue;
      }
      const item = { file, state: 'uploading', progress: 0, attachment: null, upload: null, error: '' };
      this.items.push(item);
      this.start(item);
    }
    this.showProblem(problems.join(' '));
    this.render();
  }

  start(item) {
    item.state = 'uploading';
    item.progress = 0;
    item.error = '';
    item.upload = uploadFile(item.file, (p) => { item.progress = p; this.renderProgress(item); });
    item.upload.promise.then((attachment) => {
      item.attachment = attachment;
      item.state = 'done';
      this.say(`${item.file.name} is ready to send.`);
      this.render();
    }, (err) => {
      if (err.status === -1) return; // cancelled: already removed
      item.state = 'error';
      item.retryable = err.status === 0 || err.status >= 500 || err.status === 429;
      item.error = uploadError(err.status, item.file.name, this.limits?.max_attachment_bytes || 25 * 1024 * 1024);
      this.render();
    });
    this.render();
  }

  remove(item) {
    item.upload?.abort();
    this.items = this.items.filter((i) => i !== item);
    this.render();
  }

  renderProgress(item) {
    if (item.bar) item.bar.value = Math.round(item.progress * 100);
  }

  render() {
    clear(this.el);
    this.el.hidden = !this.items.length;
    for (const item of this.items) {
      const name = item.file.name;
      const actions = [];
      if (item.state === 'uploading') {
        item.bar = h('progress', { max: '100', value: String(Math.round(item.progress * 100)), 'aria-label': `Uploading ${name}` });
        actions.push(h('button', {
          type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': `Cancel upload of ${name}`, onclick: () => this.remove(item),
        }, 'Cancel'));
      } else {
        item.bar = null;
      }
      if (item.state === 'error' && item.retryable) {
        actions.push(h('button', {
          type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': `Retry upload of ${name}`, onclick: () => this.start(item),
        }, 'Retry'));
      }
      if (item.state !== 'uploading') {
        actions.push(h('button', {
          type: 'button', class: 'btn btn-ghost btn-icon btn-tiny', 'aria-label': `Remove ${name}`, title: 'Remove', onclick: () => this.remove(item),
        }, icon('close')));
      }
      this.el.append(h('li', { class: `upload-item is-${item.state}`, dataset: { testid: 'upload' } },
        h('span', { class: 'att-icon', 'aria-hidden': 'true' }, icon('file')),
        h('span', { class: 'upload-main' },
          h('span', { class: 'att-name' }, name),
          h('span', { class: 'att-sub' }, item.state === 'done' ? `${formatBytes(item.file.size)} · ready` : formatBytes(item.file.size)),
          item.bar,
          item.error ? h('span', { class: 'upload-error', role: 'alert' }, item.error) : null),
        h('span', { class: 'upload-actions' }, actions)));
    }
    this.onChange();
  }
}

/** A paperclip button opening a file picker; chosen files go to `onFiles`. */
export function attachButton(onFiles) {
  const input = h('input', { type: 'file', multiple: true, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  input.addEventListener('change', () => { if (input.files.length) onFiles([...input.files]); input.value = ''; });
  const button = h('button', {
    type: 'button', class: 'btn btn-ghost btn-icon composer-attach', 'aria-label': 'Attach file', title: 'Attach file',
    onclick: () => input.click(),
  }, icon('clip'));
  return { button, input };
}

/** Files dropped on `zone` or images pasted into `pasteTarget` go to `onFiles`. */
export function acceptDroppedFiles(zone, pasteTarget, onFiles) {
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  zone.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; depth += 1; zone.classList.add('is-dropping'); });
  zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove('is-dropping'); });
  zone.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  zone.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    zone.classList.remove('is-dropping');
    onFiles([...e.dataTransfer.files]);
  });
  pasteTarget.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith('image/'));
    if (!files.length) return;
    e.preventDefault();
    onFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-image-${Date.now()}${i ? `-${i}` : ''}.png`, { type: f.type }))));
  });
}
