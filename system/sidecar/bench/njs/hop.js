/*
 * The native ceiling of `npm run bench:hop` (not part of authlab's data path): what the sidecar's
 * outbound `/call/<target>/query` (sign off) costs when its work runs inside nginx — njs (nginx's own
 * JavaScript, Debian `libnginx-mod-http-js`) parses and checks the body as the sidecar does
 * (system/sidecar/query-catalogue.ts: a JSON object with only "query" and "params", a known query, a
 * params object with that query's keys), nginx forwards it over keep-alive to the upstream and relays
 * the answer with a Server-Timing header. It answers "would moving the data path out of Node meet
 * issue 13's targets?" with a measurement instead of a guess. njs 0.7 syntax: no classes, no modules
 * beyond `export default`.
 */
/** Each query's one parameter and its bound (query-catalogue.ts: ITEM_ROWS, HEAVY_N_MAX, WRITE_NOTE_MAX). */
var QUERIES = { light: 'id', heavy: 'n', 'heavy-cached': 'n', write: 'note' };
var MAX = { id: 10000, n: 5000000, note: 200 };

function refuse(r, code, message) {
  r.headersOut['Content-Type'] = 'application/json';
  r.return(400, JSON.stringify({ error: { code: code, message: message } }));
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** null when the body is one the sidecar forwards; else [code, message] as the sidecar words it. */
function check(text) {
  var body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return ['ERR_BODY_NOT_JSON', 'The body is not valid JSON.'];
  }
  if (!isObject(body)) return ['ERR_BAD_REQUEST', 'The body must be a JSON object {"query": ..., "params": {...}}.'];
  for (var k in body) if (k !== 'query' && k !== 'params') return ['ERR_BAD_REQUEST', 'Unknown top-level field.'];
  var key = typeof body.query === 'string' && Object.prototype.hasOwnProperty.call(QUERIES, body.query) ? QUERIES[body.query] : null;
  if (key === null) return ['ERR_UNKNOWN_QUERY', 'Unknown query: use one of light, heavy, heavy-cached, write.'];
  var params = body.params;
  if (params === undefined) return null;
  if (!isObject(params)) return ['ERR_BAD_PARAMS', '"params" must be a JSON object.'];
  for (var p in params) if (p !== key) return ['ERR_BAD_PARAMS', body.query + ' takes only "' + key + '".'];
  var v = params[key];
  if (v === undefined) return null;
  var ok = key === 'note' ? typeof v === 'string' && v.length <= MAX.note : Number.isInteger(v) && v >= 1 && v <= MAX[key];
  if (!ok) return ['ERR_BAD_PARAMS', '"' + key + '" is out of range or of the wrong type.'];
  return null;
}

async function call(r) {
  var t0 = Date.now();
  var text = r.requestText;
  var bad = check(text);
  if (bad !== null) {
    refuse(r, bad[0], bad[1]);
    return;
  }
  var res = await r.subrequest('/_upstream', { method: 'POST', body: text });
  r.headersOut['Content-Type'] = 'application/json';
  r.headersOut['Server-Timing'] = 'total;dur=' + (Date.now() - t0);
  r.return(res.status, res.responseText);
}

export default { call };
