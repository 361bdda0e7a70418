// The story view of wirecopy's pages: version timeline, what each version changed, and any two
// members side by side. One piece of code for the static report (evidence/html.py) and the
// newsroom page served by `wirecopy serve` (service/_newsroom.py); both inline this file.
var WirecopyStoryView = (function () {
  "use strict";
  function when(s) { return s ? String(s).replace("T", " ").replace(/:00(?=$|[+-]\d\d:\d\d$|Z$)/, "").replace(/(\+00:00|Z)$/, " UTC") : ""; }
  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); }
  function marks(m, other) {
    // per character: 0 plain, 1 shared with the other text, 2 only here, 3 set aside as boilerplate
    var n = m.text.length, cls = new Uint8Array(n), sh = m.shingles, i, j, ids = new Set();
    for (i = 2; i < other.shingles.length; i += 3) ids.add(other.shingles[i]);
    for (i = 0; i < sh.length; i += 3) if (!ids.has(sh[i + 2])) for (j = sh[i]; j < sh[i + 1]; j++) cls[j] = 2;
    for (i = 0; i < sh.length; i += 3) if (ids.has(sh[i + 2])) for (j = sh[i]; j < sh[i + 1]; j++) cls[j] = 1;
    (m.boilerplate || []).forEach(function (b) { for (j = b.start; j < b.end; j++) if (cls[j] === 0) cls[j] = 3; });
    var out = [], start = 0, tags = [null, ["<mark class=\"shared\">", "</mark>"], ["<ins class=\"added\">", "</ins>"], ["<span class=\"boiler\">", "</span>"]];
    for (i = 1; i <= n; i++) {
      if (i === n || cls[i] !== cls[start]) {
        var piece = esc(m.text.slice(start, i)), t = tags[cls[start]];
        out.push(t ? t[0] + piece + t[1] : piece);
        start = i;
      }
    }
    return out.join("");
  }
  function member(d, id) { for (var i = 0; i < d.members.length; i++) if (d.members[i].id === id) return d.members[i]; return null; }
  // Render story ``d`` (a story of ``wirecopy stories``' evidence, or GET /stories/{id}/anatomy)
  // into element ``v``. ``opt``: a, b (member ids side by side), select(a, b), back().
  function render(v, d, opt) {
    var h = [];
    var sources = (d.sources || []).join(", ");
    h.push('<p><a href="#" id="back">&larr; All stories</a></p>');
    h.push("<h2>" + esc(d.title || d.canonical) + "</h2>");
    h.push('<p class="stats">' + d.size + " article(s) &middot; " + esc(sources) + " &middot; " + esc(when(d.first_date) || "?") + " &ndash; " + esc(when(d.last_date) || "?") +
      " &middot; canonical <code>" + esc(d.canonical) + "</code> &middot; story <code>" + esc(d.story) + "</code></p>");
    h.push("<h3>Versions, in order</h3><ol class=\"timeline\">");
    d.members.forEach(function (m) {
      var badges = '<span class="badge rel-' + esc(m.relation) + '">' + esc(m.relation) + "</span>";
      (m.notes || []).forEach(function (n) { badges += '<span class="badge note" title="' + esc(n.text) + '">' + esc(n.kind) + "</span>"; });
      h.push('<li data-member="' + esc(m.id) + '"><div><strong>' + m.order + ". " + esc(m.title || m.id) + "</strong> " + badges + "</div>");
      var meta = [esc(m.source || m.credited || "unknown source"), esc(when(m.when) || "undated") + (m.when_from && m.when_from !== "record" ? " (" + esc(m.when_from) + ")" : "")];
      if (m.parent) meta.push(esc(m.parent_relation) + " of " + esc(m.parent) + " &middot; placed by " + esc(m.placed_by));
      else meta.push("first known version");
      if (m.dateline) meta.push("dateline: " + esc(m.dateline.text));
      h.push('<div class="meta">' + esc(m.id) + " &middot; " + meta.join(" &middot; ") + "</div>");
      (m.notes || []).forEach(function (n) { h.push('<div class="meta">note: ' + esc(n.text) + "</div>"); });
      if (m.contains && m.contains.length) h.push('<div class="meta">contains ' + m.contains.map(function (c) { return Math.round(c.share * 100) + "% of " + esc(c.id); }).join(", ") + "</div>");
      var ch = (m.changes || []).filter(function (c) { return !c.furniture; });
      if (ch.length) {
        var count = { added: 0, changed: 0, removed: 0 };
        ch.forEach(function (c) { count[c.kind]++; });
        h.push("<details><summary>against its parent: " + ["added", "changed", "removed"].filter(function (k) { return count[k]; }).map(function (k) { return count[k] + " sentence(s) " + k; }).join(", ") + "</summary>");
        h.push('<ul class="changes">');
        ch.slice(0, 40).forEach(function (c) {
          var sign = { added: "+", removed: "\u2212", changed: "~" }[c.kind];
          h.push('<li class="' + c.kind + '">' + sign + " para " + c.paragraph + ": " + esc(c.text) + (c.from ? ' <span class="meta">(was: ' + esc(c.from) + ")</span>" : "") + "</li>");
        });
        if (ch.length > 40) h.push("<li>... " + (ch.length - 40) + " more</li>");
        h.push("</ul></details>");
      }
      if (m.parent) h.push('<div class="meta"><a href="#' + "story=" + encodeURIComponent(d.story) + "&a=" + encodeURIComponent(m.parent) + "&b=" + encodeURIComponent(m.id) + '">compare with its parent</a></div>');
      h.push("</li>");
    });
    h.push("</ol>");
    var a = member(d, opt.a) || d.members[0], b = member(d, opt.b) || d.members[d.members.length - 1];
    if (a.text == null || b.text == null) { // a story without its texts (a clustering result): the timeline alone
      v.innerHTML = h.join("");
      document.getElementById("back").addEventListener("click", function (e) { e.preventDefault(); opt.back(); });
      return;
    }
    h.push('<h3>Side by side</h3><div class="toolbar"><select id="sel-a"></select><span>vs</span><select id="sel-b"></select></div>');
    h.push('<div class="legend"><span style="background:var(--shared)">shared passage</span><span style="background:var(--added)">only in this text</span><span style="background:var(--boiler)">set aside (furniture)</span></div>');
    h.push('<div class="compare"><div class="col" id="col-a"><h3>' + a.order + ". " + esc(a.source || a.id) + " &middot; " + esc(when(a.when) || "undated") + '</h3><div class="text">' + marks(a, b) +
      '</div></div><div class="col" id="col-b"><h3>' + b.order + ". " + esc(b.source || b.id) + " &middot; " + esc(when(b.when) || "undated") + '</h3><div class="text">' + marks(b, a) + "</div></div></div>");
    v.innerHTML = h.join("");
    ["sel-a", "sel-b"].forEach(function (sid, k) {
      var sel = document.getElementById(sid), cur = k ? b.id : a.id;
      sel.innerHTML = d.members.map(function (m) { return '<option value="' + esc(m.id) + '"' + (m.id === cur ? " selected" : "") + ">" + m.order + ". " + esc((m.source || "") + " " + m.id) + "</option>"; }).join("");
      sel.addEventListener("change", function () { opt.select(k ? a.id : sel.value, k ? sel.value : b.id); });
    });
    document.getElementById("back").addEventListener("click", function (e) { e.preventDefault(); opt.back(); });
  }
  return { when: when, esc: esc, marks: marks, render: render };
})();
