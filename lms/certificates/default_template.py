# ruff: noqa: E501  (HTML and CSS: long lines are the natural shape of the markup)
"""The certificate design shipped in the code: bilingual, A4 landscape.

Used until an administrator saves a template (for a certificate type or for all of them).
``DEFAULT_HTML`` is the body of one certificate (a Jinja template rendered in a sandbox with
the names of :func:`lms.certificates.rendering.certificate_context`); ``DEFAULT_CSS`` is plain
CSS, parsed once per process. It uses two faces only (sans regular, serif bold), each first
from the common-character fonts of :mod:`lms.certificates.fonts` and then from the full Noto
CJK font (rare characters), and no flexbox: every extra face is subset again in every PDF,
and flex layout costs several times more than positioned blocks. The wording is printed in both languages on
the document itself, whatever the reader's language, so it is part of the design rather than
a message for Babel.
"""

DEFAULT_HTML = """\
<article class="certificate">
  <div class="frame">
    <header>
      <p class="issuer">{{ issuer_name }}{% if issuer_name_en %}<br><span class="en">{{ issuer_name_en }}</span>{% endif %}</p>
      <h1 class="title">{{ certificate_title }}</h1>
      {% if certificate_title_en %}<p class="title-en">{{ certificate_title_en }}</p>{% endif %}
    </header>

    <section class="body">
      <p class="lead">兹证明 <span class="en">This is to certify that</span></p>
      <p class="holder">{{ holder_name }}</p>
      <p class="statement">{% if partner_name %}参加由{{ partner_name }}承办的{% else %}参加{% endif %}「{{ programme_title }}」培训，完成全部课程并通过考核，成绩合格，特发此证。</p>
      <p class="statement en">
        has completed the programme “{{ programme_title_en or programme_title }}”
        {%- if partner_name_en or partner_name %} delivered with {{ partner_name_en or partner_name }}{% endif %}
        and passed all its assessments.
      </p>
    </section>

    <footer>
      <dl class="facts">
        <div><dt>证书编号 <span class="en">Serial No.</span></dt><dd class="serial">{{ serial }}</dd></div>
        <div><dt>发证日期 <span class="en">Date of issue</span></dt>
          <dd>{{ issued_on_zh }}<br><span class="en">{{ issued_on_en }}</span></dd></div>
        <div><dt>有效期至 <span class="en">Valid until</span></dt>
          <dd>{% if expires_on_zh %}{{ expires_on_zh }}<br><span class="en">{{ expires_on_en }}</span>{% else %}长期有效<br><span class="en">No expiry</span>{% endif %}</dd></div>
      </dl>

      <div class="signature">
        <p class="seal-line">{{ issuer_name }}</p>
        <p class="signatory">{{ signatory_name }}</p>
        <p class="signatory-title">{{ signatory_title }}</p>
      </div>

      <div class="verify">
        <div class="qr">{{ qr_image }}</div>
        <p>扫码验证 <span class="en">Scan to verify</span></p>
        <p class="code">{{ code }}</p>
      </div>
    </footer>
  </div>
</article>
"""

DEFAULT_CSS = """\
@page { size: A4 landscape; margin: 0; }

html { font-family: "Noto Sans CJK SC Common", "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; color: #2b2118; }
body { margin: 0; }

.certificate {
  box-sizing: border-box;
  width: 297mm;
  height: 210mm;
  padding: 9mm;
  background: #fffdf7;
}
/* Plain blocks and absolute positions, no flexbox: layout is most of the rendering time. */
.frame {
  position: relative;
  box-sizing: border-box;
  height: 100%;
  border: 2.5mm double #a8322d;
  outline: 0.4mm solid #c9a45c;
  outline-offset: -5mm;
  padding: 12mm 20mm 0;
  text-align: center;
}

.en { font-size: 0.62em; color: #6b5a48; letter-spacing: 0.02em; }

header .issuer { margin: 0; font-size: 11pt; color: #6b5a48; line-height: 1.3; }
h1.title {
  margin: 5mm 0 0;
  font-family: "Noto Serif CJK SC Common", "Noto Serif CJK SC", "Noto Sans CJK SC", serif;
  font-weight: bold;
  font-size: 28pt;
  letter-spacing: 0.12em;
  color: #a8322d;
}
.title-en { margin: 1mm 0 0; font-size: 12pt; letter-spacing: 0.08em; color: #8a6d3b; text-transform: uppercase; }

.lead { margin: 8mm 0 0; font-size: 13pt; }
.holder {
  margin: 3mm auto 2mm;
  font-family: "Noto Serif CJK SC Common", "Noto Serif CJK SC", "Noto Sans CJK SC", serif;
  font-weight: bold;
  font-size: 36pt;
  letter-spacing: 0.08em;
  width: 130mm;
  padding-bottom: 1mm;
  border-bottom: 0.4mm solid #c9a45c;
}
.statement { margin: 3mm 18mm 0; font-size: 13pt; line-height: 1.6; }
.statement.en { margin-top: 1mm; font-size: 10.5pt; }

footer { position: absolute; left: 20mm; right: 20mm; bottom: 9mm; height: 46mm; }
.facts { position: absolute; left: 0; bottom: 0; width: 80mm; margin: 0; font-size: 10pt; text-align: left; }
.facts div { margin-top: 2mm; }
.facts dt { color: #6b5a48; font-size: 9pt; }
.facts dd { margin: 0; }
.facts .serial { font-size: 11pt; letter-spacing: 0.03em; }

.signature { position: absolute; left: 80mm; right: 80mm; bottom: 2mm; text-align: center; font-size: 11pt; }
.signature p { margin: 0; }
.signature .seal-line { font-family: "Noto Serif CJK SC Common", "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-weight: bold; color: #a8322d; }
.signature .signatory {
  margin-top: 10mm;
  font-size: 14pt;
  border-top: 0.3mm solid #2b2118;
  padding-top: 1mm;
}
.signature .signatory-title { font-size: 9.5pt; color: #6b5a48; }

.verify { position: absolute; right: 0; bottom: 0; width: 36mm; text-align: center; font-size: 8.5pt; }
.verify p { margin: 0.5mm 0 0; }
.qr img { display: block; width: 30mm; height: 30mm; margin: 0 auto; image-rendering: pixelated; }
.code { font-size: 6pt; letter-spacing: 0.03em; color: #6b5a48; word-break: break-all; }
"""
