/**
 * The body of the sendfile(2) worker thread, as JavaScript source. It is a string, not a module, so the
 * worker starts the same way under tsx, in the esbuild CLI bundle and in Electron (no second entry point to
 * bundle), and so no bundler helper (`__name`, …) can leak into it the way `fn.toString()` would.
 *
 * The loop: every job is a (socket fd, file fd) pair the main thread dup()ed for us, so closing the
 * socket on the main side can never make us write into a reused descriptor number. poll() the sockets for
 * POLLOUT, sendfile() a bounded chunk to each writable one (round robin, so 32 clients share fairly), post
 * progress at most every progressMs, and close both dups when the job ends. The thread blocks only in
 * poll() with a 50 ms timeout, so new jobs, cancels and stop are picked up within 50 ms; with no jobs it
 * returns to its event loop and sleeps until the next message.
 *
 * Messages in:  {t:'job', id, sock, file, start, count, progressMs, idleMs} | {t:'cancel', id} | {t:'stop'}
 * Messages out: {t:'progress', id, bytes} | {t:'done', id, bytes, error} | {t:'stopped'}
 */
export const SENDFILE_WORKER_SOURCE = String.raw`
'use strict'
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads')
const koffi = require(workerData.koffi)
const lib = koffi.load('libc.so.6')
const sendfile = lib.func('intptr_t sendfile(int, int, void *, size_t)')
const poll = lib.func('int poll(void *, unsigned long, int)')
const close = lib.func('int close(int)')
const EINTR = 4
const EAGAIN = 11
const POLLOUT = 4
// One call moves at most what the socket's send buffer takes; the cap only bounds a single job's turn.
const CHUNK = 4 * 1024 * 1024
const WAIT_MS = 50
const jobs = new Map()
let pollBuf = Buffer.alloc(8 * 64)
let running = false

function finish(job, error) {
  jobs.delete(job.id)
  close(job.sock)
  close(job.file)
  parentPort.postMessage({ t: 'done', id: job.id, bytes: job.sent, error })
}

function take(m) {
  if (m.t === 'job') {
    const off = Buffer.alloc(8)
    off.writeBigInt64LE(BigInt(m.start))
    const now = Date.now()
    jobs.set(m.id, { ...m, off, sent: 0, lastReport: now, lastMove: now })
  } else if (m.t === 'cancel') {
    const job = jobs.get(m.id)
    if (job) finish(job, 'cancelled')
  } else if (m.t === 'stop') {
    for (const job of [...jobs.values()]) finish(job, 'server closing')
    parentPort.postMessage({ t: 'stopped' })
  }
}

function sendSome(job) {
  for (;;) {
    const left = job.count - job.sent
    const n = Number(sendfile(job.sock, job.file, job.off, left < CHUNK ? left : CHUNK))
    if (n > 0) {
      job.sent += n
      return true
    }
    if (n === 0) {
      finish(job, 'the file ended early (truncated while sending)')
      return false
    }
    const e = koffi.errno()
    if (e === EINTR) continue
    if (e === EAGAIN) return false
    finish(job, 'sendfile failed with errno ' + e)
    return false
  }
}

function pump() {
  if (running) return
  running = true
  try {
    let moved = true
    while (jobs.size > 0) {
      for (let m = receiveMessageOnPort(parentPort); m; m = receiveMessageOnPort(parentPort)) take(m.message)
      const list = [...jobs.values()]
      if (list.length === 0) break
      if (pollBuf.length < list.length * 8) pollBuf = Buffer.alloc(list.length * 16)
      for (let i = 0; i < list.length; i++) {
        pollBuf.writeInt32LE(list[i].sock, i * 8)
        pollBuf.writeInt16LE(POLLOUT, i * 8 + 4)
        pollBuf.writeInt16LE(0, i * 8 + 6)
      }
      // Nothing moved last round: sleep in poll() until a socket drains (or WAIT_MS for messages).
      const ready = poll(pollBuf, list.length, moved ? 0 : WAIT_MS)
      moved = false
      const now = Date.now()
      for (let i = 0; i < list.length; i++) {
        const job = list[i]
        if (!jobs.has(job.id)) continue
        // POLLERR/POLLHUP too: sendfile then reports the error that ends the job.
        if (ready > 0 && pollBuf.readInt16LE(i * 8 + 6) !== 0 && sendSome(job)) {
          moved = true
          job.lastMove = now
        }
        if (!jobs.has(job.id)) continue
        if (job.sent === job.count) finish(job, null)
        else if (now - job.lastMove > job.idleMs) finish(job, 'the client stopped reading')
        else if (now - job.lastReport >= job.progressMs) {
          job.lastReport = now
          parentPort.postMessage({ t: 'progress', id: job.id, bytes: job.sent })
        }
      }
    }
  } finally {
    running = false
  }
}

parentPort.on('message', (m) => {
  take(m)
  pump()
})
`
