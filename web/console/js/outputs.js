// Each step kind's typed output, rendered for a person.

import { h } from './dom.js';
import { cmaChart } from './chart.js';
import { money, number, percent, date, dateTime, label, signedMoney } from './format.js';

export const OUTPUT_FRAGMENT = `__typename
  ... on CMAReport { estimatedValue valueLow valueHigh confidence confidenceReason rangeNote rangeCalibrated valueCompCount
    medianPricePerSqft searchRadiusMiles listingNote
    comps { propertyId address sqft beds baths distanceMiles salePrice saleDate adjustedPrice weight netAdjustment outlierReason
      adjustments { feature amount percent reason } } }
  ... on ListingStrategy { market { temperature monthsOfSupply saleToListRatio reason } usps { feature claim }
    pricingOptions { name price rationale minDaysOnMarket maxDaysOnMarket risk } audienceSegments { segment reason }
    timeline { name date note } negotiationPlays { play when } }
  ... on MarketingCampaign { price headlines description bullets budget launchDate windowDays
    channels { channel share amount reason } fairHousing { passed termsChecked removed } }
  ... on SocialSchedule { posts { platform scheduledAt text } skipped minGapHours reason }
  ... on EmailSequence { tier consent reason messages { template to subject body scheduledAt } }
  ... on SocialTargeting { listings { address city listPrice beds rank reason } audience { specialAdCategory radiusMiles interests }
    compliance { rule result detail } }
  ... on LeadScore { score tier factors { factor value points maxPoints reason } }
  ... on FollowUpPlan { tier reason tasks { type title notes dueAt } }`;

function table(caption, head, rows, id) {
  return h('table', { id },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, head.map(([t, num]) => h('th', { scope: 'col', class: num ? 'num' : undefined }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h('td', { class: head[i][1] ? 'num' : undefined }, c))))));
}

function cma(o, run) {
  const adj = (c) => (c.adjustments.length
    ? h('ul', {}, c.adjustments.map((a) => h('li', {}, `${label(a.feature)}: ${signedMoney(a.amount)} (${a.percent.toFixed(1)}%) — ${a.reason}`)))
    : 'None');
  return [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Estimated value'), h('dd', { id: 'cma-value' }, money(o.estimatedValue)),
      h('dt', {}, '80% range'), h('dd', {}, `${money(o.valueLow)} – ${money(o.valueHigh)}`),
      h('dt', {}, 'Confidence'), h('dd', {}, `${label(o.confidence)}: ${o.confidenceReason}`),
      h('dt', {}, 'Range'), h('dd', {}, o.rangeNote),
      h('dt', {}, 'Comps'), h('dd', {}, `${o.valueCompCount} within ${number(o.searchRadiusMiles)} mi; median ${money(o.medianPricePerSqft)}/sq ft`),
      o.listingNote ? [h('dt', {}, 'List price'), h('dd', {}, o.listingNote)] : null),
    h('h4', {}, 'Price against living area'),
    cmaChart(o, run.property?.sqft ?? null),
    h('h4', {}, 'Comparable sales and adjustments'),
    table('Comparable sales', [['Address'], ['Sold', 1], ['Date'], ['Sq ft', 1], ['Beds/baths'], ['Miles', 1], ['Adjustments'], ['Adjusted', 1], ['Weight', 1]],
      o.comps.map((c) => [c.address || c.propertyId, money(c.salePrice), date(c.saleDate), number(c.sqft), `${c.beds ?? '—'}/${c.baths ?? '—'}`,
        number(c.distanceMiles), adj(c), money(c.adjustedPrice), percent(c.weight)]), 'cma-comps'),
  ];
}

function strategy(o) {
  return [
    h('p', {}, `Market: ${label(o.market.temperature)}. ${o.market.reason}`),
    h('h4', {}, 'Pricing options'),
    table('Pricing options', [['Option'], ['Price', 1], ['Days on market'], ['Risk'], ['Why']],
      o.pricingOptions.map((p) => [label(p.name), money(p.price), `${p.minDaysOnMarket}–${p.maxDaysOnMarket}`, p.risk, p.rationale]), 'strategy-pricing'),
    h('h4', {}, 'Timeline'),
    h('ol', { id: 'strategy-timeline' }, o.timeline.map((m) => h('li', {}, h('strong', {}, `${date(m.date)}: ${m.name}`), ` — ${m.note}`))),
    o.usps.length ? [h('h4', {}, 'Selling points'), h('ul', {}, o.usps.map((u) => h('li', {}, u.claim)))] : null,
    o.audienceSegments.length ? [h('h4', {}, 'Audiences'), h('ul', {}, o.audienceSegments.map((a) => h('li', {}, `${a.segment}: ${a.reason}`)))] : null,
    o.negotiationPlays.length ? [h('h4', {}, 'Negotiation'), h('ul', {}, o.negotiationPlays.map((p) => h('li', {}, `${p.when}: ${p.play}`)))] : null,
  ];
}

function campaign(o) {
  return [
    h('h4', {}, 'Headlines'),
    h('ul', { id: 'campaign-headlines' }, o.headlines.map((t) => h('li', {}, t))),
    h('h4', {}, 'Description'),
    h('p', { class: 'copy' }, o.description),
    h('ul', {}, o.bullets.map((b) => h('li', {}, b))),
    h('p', {}, `Launch ${date(o.launchDate)} for ${o.windowDays} days at ${money(o.price)}; budget ${money(o.budget)}.`),
    table('Budget by channel', [['Channel'], ['Share', 1], ['Amount', 1], ['Why']],
      o.channels.map((c) => [label(c.channel), percent(c.share, 0), money(c.amount), c.reason])),
    h('p', {}, o.fairHousing.passed
      ? `Fair-housing check passed (${o.fairHousing.termsChecked} terms checked).`
      : `Fair-housing check removed: ${o.fairHousing.removed.join(', ')}.`),
  ];
}

function social(o) {
  return [
    h('p', {}, `${o.posts.length} posts planned, at least ${o.minGapHours} h apart; ${o.skipped} slots skipped. ${o.reason}`),
    h('ul', {}, o.posts.map((p) => h('li', {}, h('strong', {}, `${label(p.platform)}, ${dateTime(p.scheduledAt)}: `), p.text))),
  ];
}

function emails(o) {
  return [
    h('p', {}, `${label(o.tier)} lead. ${o.consent ? '' : 'No email consent: nothing scheduled. '}${o.reason}`),
    o.messages.map((m) => h('article', { class: 'card' },
      h('h4', {}, `${dateTime(m.scheduledAt)} · ${m.subject}`), h('p', { class: 'hint' }, `To ${m.to}`), h('p', { class: 'copy' }, m.body))),
  ];
}

function targeting(o) {
  return [
    table('Listings to promote', [['Rank', 1], ['Listing'], ['Price', 1], ['Why']],
      o.listings.map((l) => [l.rank, `${l.address}, ${l.city}`, money(l.listPrice), l.reason])),
    h('p', {}, `Audience: ${o.audience.specialAdCategory}, ${number(o.audience.radiusMiles)} mi radius; interests ${o.audience.interests.join(', ') || 'none'}.`),
    h('ul', {}, o.compliance.map((c) => h('li', {}, `${c.rule}: ${c.result} — ${c.detail}`))),
  ];
}

function leadScore(o) {
  return [
    h('p', {}, `Score ${o.score} of 100: ${label(o.tier)}.`),
    table('Score factors', [['Factor'], ['Points', 1], ['Why']], o.factors.map((f) => [label(f.factor), `${f.points}/${f.maxPoints}`, f.reason])),
  ];
}

function followUps(o) {
  return [
    h('p', {}, `${label(o.tier)} lead. ${o.reason}`),
    h('ul', {}, o.tasks.map((t) => h('li', {}, `${dateTime(t.dueAt)} · ${label(t.type)}: ${t.title}`))),
  ];
}

const RENDER = {
  CMAReport: cma, ListingStrategy: strategy, MarketingCampaign: campaign, SocialSchedule: social,
  EmailSequence: emails, SocialTargeting: targeting, LeadScore: leadScore, FollowUpPlan: followUps,
};

export function renderOutput(output, run) {
  const fn = RENDER[output?.__typename];
  return fn ? fn(output, run) : h('p', {}, 'This step has no typed output.');
}
