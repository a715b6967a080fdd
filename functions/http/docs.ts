// Public documentation routes: the generated OpenAPI document and a self-contained page that renders it.
import { httpApi } from "../../shared/http/api.ts";
import { json } from "../../shared/http/response.ts";
import { buildOpenApi } from "../../shared/http/openapi.ts";

const spec = buildOpenApi();

/** A dependency-free page (works offline): fetches /openapi.json and lists every operation with its schemas. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer master API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem;color:#1d2330}
h1{font-size:1.5rem}.op{border:1px solid #d7dbe3;border-radius:6px;margin:.5rem 0}
.op>summary{padding:.5rem;cursor:pointer}.m{display:inline-block;width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#1a7f37}.post{color:#0550ae}.patch,.put{color:#9a6700}.delete{color:#cf222e}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;margin:.25rem .5rem}.lock{color:#6e7781;font-size:.85em}
</style></head><body><h1>Customer master API</h1><p id="d"></p><div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(s=>{
 document.getElementById('d').textContent=s.info.description;
 const out=[];
 for(const [p,ms] of Object.entries(s.paths)) for(const [m,o] of Object.entries(ms)){
  const d=document.createElement('details');d.className='op';
  const sm=document.createElement('summary');
  sm.innerHTML='<span class="m '+m+'">'+m+'</span> <code></code> — <span></span> '+(o.security.length?'<span class="lock">🔒 bearer</span>':'');
  sm.querySelector('code').textContent=p;sm.querySelectorAll('span')[1].textContent=o.summary;d.appendChild(sm);
  const add=(t,v)=>{const h=document.createElement('div');h.style.margin='0 .5rem';h.textContent=t;d.appendChild(h);const pre=document.createElement('pre');pre.textContent=JSON.stringify(v,null,2);d.appendChild(pre)};
  if(o.parameters.length)add('Parameters',o.parameters.map(x=>({name:x.name,in:x.in,schema:x.schema})));
  if(o.requestBody)add('Request body',o.requestBody.content['application/json'].schema);
  for(const [c,r] of Object.entries(o.responses)) if(r.content)add('Response '+c,Object.values(r.content)[0].schema);
  out.push(d);
 }
 const ops=document.getElementById('ops');ops.textContent='';out.forEach(x=>ops.appendChild(x));
});
</script></body></html>`;

export const handler = httpApi({
  "GET /openapi.json": { public: async () => json(200, spec) },
  "GET /docs": {
    public: async () => ({ statusCode: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: PAGE }),
  },
});
