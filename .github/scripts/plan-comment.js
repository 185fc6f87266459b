// The plan comment of one account on a pull request, for actions/github-script. Used by two
// workflows (docs/ci.md, "Pull requests from forks"):
//   - plan.yml's plan job renders the comment from the files `sellersync plan` and
//     `sellersync validate` left (`render`) and saves it with the pull request's number and
//     head commit (`save`); for a pull request of this repository it posts it (`post`);
//   - plan-comment.yml, on workflow_run after a fork's plan run, downloads what the plan job
//     saved and posts it (`postSaved`). A fork's token is read-only, so its plan job cannot.
//     That workflow runs this file as the default branch has it, never a fork's copy, and
//     treats every byte it downloads as untrusted text: the number must be the pull request
//     the run was for, at the commit it planned; sizes are capped; bodies are posted as
//     comment text and nothing else.
'use strict';

const fs = require('fs');
const path = require('path');

// GitHub's longest comment body, engine/plan/markdown.py's GITHUB_COMMENT_LIMIT, which renders
// each part WORKFLOW_HEADING_ROOM under it for the heading `render` adds.
const COMMENT_LIMIT = 65536;
// engine/plan/markdown.py's MAX_PARTS: past it, the last part points to the artifact.
const MAX_PARTS = 12;
// A saved comment: at most MAX_PARTS full comments, every character escaped in JSON at worst.
const MAX_SAVED_BYTES = MAX_PARTS * COMMENT_LIMIT * 6 + 4096;
const MAX_ACCOUNTS = 256;
// An account is a directory below the repository root (`sellersync accounts`).
const ACCOUNT = /^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}$/;
const SHA = /^[0-9a-f]{40}$/;
const SAVED = 'comment.json';

// The renderer's marker (engine/plan/markdown.py MARKER), made specific to one account: it
// finds that account's comments again on the next push.
const RENDERED_MARKER = '<!-- sellersync-plan -->';
const marker = (account) => `<!-- sellersync-plan:${account} -->`;

// A GitHub annotation (`sellersync validate --format github`) read as a line.
const unescape = (text) => text.replace(/%0D/g, '\r').replace(/%0A/g, '\n')
  .replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
const readable = (line) => {
  const found = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
  if (!found) return line;
  const props = Object.fromEntries((found[2] || '').split(',').filter(Boolean)
    .map((p) => [p.slice(0, p.indexOf('=')), unescape(p.slice(p.indexOf('=') + 1))]));
  const where = [props.file, props.line, props.col].filter(Boolean).join(':');
  return `${found[1]}: ${where ? `${where}: ` : ''}${unescape(found[3])}`;
};

// The comment bodies of one account, from the files in `dir` (plan.md, plan.2.md, ...; or
// validate.out / plan.err when planning failed). `env` is the step's environment (ACCOUNT,
// SELLER_ID, APPROVALS, PLANNED, PLAN_EXIT, VALIDATE_EXIT, ARTIFACT_URL), `run` the run's URL.
function render(env, run, dir = '.') {
  const file = (name) => path.join(dir, name);
  const read = (name) => (fs.existsSync(file(name)) ? fs.readFileSync(file(name), 'utf8') : '');
  const mine = marker(env.ACCOUNT);
  const account = `**Account:** \`${env.ACCOUNT}\` (seller ${env.SELLER_ID})`;
  if (env.PLANNED === 'true') {
    const files = ['plan.md'];
    for (let n = 2; fs.existsSync(file(`plan.${n}.md`)); n += 1) files.push(`plan.${n}.md`);
    const artifact = env.ARTIFACT_URL || `${run}#artifacts`;
    let first = `${mine}\n${account}\n\nThe full plan: [plan-${env.SELLER_ID}]` +
      `(${artifact}) (\`plan.json\`, \`plan.md\`) of [this run](${run}).`;
    if (env.PLAN_EXIT === '3') {
      first += '\n\n> [!CAUTION]\n> **Blocked by guardrails.** This check ' +
        'fails until the config changes or `' + env.APPROVALS + '` ' +
        'approves each soft-mandatory block below with a reason, an approver and ' +
        'an expiry (docs/config.md, "Guardrails"). A hard-mandatory block cannot ' +
        'be approved. apply.yml never applies a blocked plan.';
    }
    return files.map((name, i) => {
      const heading = i === 0 ? first : `${mine}\n${account}`;
      const body = read(name);
      return body.includes(RENDERED_MARKER)
        ? body.replace(RENDERED_MARKER, heading)
        : `${heading}\n\n${body}`;
    });
  }
  let what;
  let output;
  if (env.PLAN_EXIT) {
    what = `\`sellersync plan\` exited ${env.PLAN_EXIT}`;
    output = read('plan.err');
  } else if (env.VALIDATE_EXIT && env.VALIDATE_EXIT !== '0' && env.VALIDATE_EXIT !== '3') {
    what = `\`sellersync validate\` exited ${env.VALIDATE_EXIT}`;
    output = read('validate.out').split('\n').map(readable).join('\n');
  } else {
    what = 'the job failed before it could plan (setup)';
    output = '';
  }
  let body = `${mine}\n${account}\n\n### sellersync plan failed\n\nPlanning ` +
    `this account failed: ${what}. There is no plan to review for this push, and ` +
    'nothing of it can be applied after merging.';
  output = output.trim();
  if (output) {
    if (output.length > 50000) output = `${output.slice(0, 50000)}\n... (cut; the log has the rest)`;
    body += `\n\n\`\`\`\`text\n${output}\n\`\`\`\`\n`;
  }
  body += `\n\nThe log: ${run}. Fix the cause and push again.`;
  return [body];
}

// Keeps the comment for plan-comment.yml: `dir`/comment.json.
function save(dir, { pullRequest, headSha, account, parts }) {
  fs.mkdirSync(dir, { recursive: true });
  const saved = { pull_request: pullRequest, head_sha: headSha, account, parts };
  fs.writeFileSync(path.join(dir, SAVED), JSON.stringify(saved));
}

// Creates or edits the account's comments (found by its marker) so that they are `parts`,
// in order, and deletes the parts a longer older plan left.
async function post(github, { owner, repo }, issueNumber, account, parts) {
  const mine = marker(account);
  const comments = await github.paginate(github.rest.issues.listComments, {
    owner, repo, issue_number: issueNumber, per_page: 100,
  });
  // Oldest first: part 1 stays where the conversation first showed the plan.
  const existing = comments
    .filter((c) => c.user.type === 'Bot' && c.body.includes(mine))
    .sort((a, b) => a.id - b.id);
  for (const [i, body] of parts.entries()) {
    if (i < existing.length) {
      await github.rest.issues.updateComment({ owner, repo, comment_id: existing[i].id, body });
    } else {
      await github.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
    }
  }
  // Parts of a longer, older plan of this account would read as part of this one.
  for (const old of existing.slice(parts.length)) {
    await github.rest.issues.deleteComment({ owner, repo, comment_id: old.id });
  }
}

// One saved comment, checked as untrusted data: the error says what is wrong, else null.
function invalid(saved, headSha) {
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) return 'not an object';
  const { pull_request: number, head_sha: sha, account, parts } = saved;
  if (!Number.isSafeInteger(number) || number < 1) return 'the pull request number is not a positive integer';
  if (typeof sha !== 'string' || !SHA.test(sha) || sha !== headSha) {
    return `it was made for commit ${String(sha).slice(0, 40)}, not the run's head commit ${headSha}`;
  }
  if (typeof account !== 'string' || !ACCOUNT.test(account) || account.includes('..')) {
    return 'the account is not a directory name';
  }
  if (!Array.isArray(parts) || parts.length < 1 || parts.length > MAX_PARTS) {
    return `it holds no parts, or more than ${MAX_PARTS}`;
  }
  for (const part of parts) {
    if (typeof part !== 'string' || part.length > COMMENT_LIMIT) return 'a part is not text within GitHub\'s limit';
    if (!part.startsWith(`${marker(account)}\n`)) return 'a part does not start with the account\'s marker';
  }
  return null;
}

// plan-comment.yml: posts every comment a fork's plan run saved (one artifact per account,
// downloaded into `dir`/<artifact>/comment.json), after checking that each is for the pull
// request the run planned. `run` is github.event.workflow_run. Refuses (and posts nothing)
// when any is not.
async function postSaved(github, core, repository, dir, run) {
  const headSha = run.head_sha;
  if (!SHA.test(headSha || '')) return core.setFailed('the plan run has no head commit');
  const entries = fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : [];
  const saved = [];
  for (const entry of entries.filter((e) => e.isDirectory()).slice(0, MAX_ACCOUNTS + 1)) {
    const file = path.join(dir, entry.name, SAVED);
    // Only a plain file: a link could point anywhere on the runner.
    const stat = fs.existsSync(file) ? fs.lstatSync(file) : null;
    if (!/^plan-comment-[A-Z0-9]+$/.test(entry.name) || !stat || !stat.isFile()) {
      return core.setFailed(`${entry.name}: not a saved plan comment`);
    }
    if (stat.size > MAX_SAVED_BYTES) return core.setFailed(`${entry.name}: larger than a plan comment can be`);
    let data;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      return core.setFailed(`${entry.name}: not JSON`);
    }
    const why = invalid(data, headSha);
    if (why) return core.setFailed(`${entry.name}: refused: ${why}`);
    saved.push(data);
  }
  if (saved.length > MAX_ACCOUNTS) return core.setFailed(`more than ${MAX_ACCOUNTS} plan comments`);
  if (saved.length === 0) return core.notice('The plan run saved no plan comment: nothing to post.');
  const numbers = new Set(saved.map((s) => s.pull_request));
  if (numbers.size !== 1) return core.setFailed('the plan comments name different pull requests');
  const [number] = numbers;
  // GitHub lists the pull requests of a run only when they come from this repository: for a
  // fork's run `pull_requests` is empty (https://github.com/orgs/community/discussions/25220,
  // https://github.com/actions/runner/issues/3444), so the pull request itself is asked whether its head is the commit the run planned.
  const listed = (run.pull_requests || []).map((p) => p.number);
  if (listed.length > 0 && !listed.includes(number)) {
    return core.setFailed(`refused: pull request #${number} is not one the plan run was for (${listed.join(', ')})`);
  }
  const { owner, repo } = repository;
  const { data: pull } = await github.rest.pulls.get({ owner, repo, pull_number: number });
  const headRepo = run.head_repository ? run.head_repository.full_name : undefined;
  if (pull.head.sha !== headSha || (headRepo && pull.head.repo && pull.head.repo.full_name !== headRepo)) {
    return core.setFailed(
      `refused: pull request #${number}'s head is ${pull.head.sha}, not the commit the plan run ` +
      `planned (${headSha}); a newer push has its own run`,
    );
  }
  for (const { account, parts } of saved) {
    await post(github, repository, number, account, parts);
  }
  return null;
}

module.exports = { COMMENT_LIMIT, MAX_PARTS, marker, render, save, post, invalid, postSaved };
