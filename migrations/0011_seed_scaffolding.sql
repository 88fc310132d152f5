-- A realistic default template and a starter set of personas, emotional arcs and training topics,
-- so a run can be created on a fresh install.

INSERT INTO personas (key, name, description) VALUES
    ('anxious_pre_retiree', 'Anxious pre-retiree', 'A 61-year-old teacher five years from retirement who lies awake worrying that her savings will run out and feels ashamed she started late.'),
    ('gig_worker', 'Gig worker with irregular income', 'A 29-year-old rideshare driver and freelance designer whose income swings between $2,000 and $9,000 a month and who has never had a budget that survived a slow month.'),
    ('new_parent', 'New parent', 'A 34-year-old first-time father on parental leave, excited and overwhelmed, who wants to start a college fund but has $14,000 of credit card debt.'),
    ('recent_widow', 'Recently widowed', 'A 58-year-old woman whose husband handled all the money; eight months after his death she has a life insurance payout and no idea where to begin.'),
    ('debt_ashamed_professional', 'High earner in hidden debt', 'A 41-year-old physician earning well who hides $60,000 of consumer debt from his family and feels like a fraud.')
ON CONFLICT (key) DO NOTHING;

INSERT INTO emotional_arcs (key, name, description) VALUES
    ('overwhelm_to_agency', 'Overwhelm to agency', 'Starts flooded and frozen; ends with one concrete next step the person chose themselves.'),
    ('shame_to_acceptance', 'Shame to acceptance', 'Starts hiding or minimising; ends able to name the situation without self-blame.'),
    ('fear_to_confidence', 'Fear to confidence', 'Starts catastrophising about the future; ends with a realistic picture and a plan.'),
    ('grief_to_stability', 'Grief to stability', 'Starts raw and avoidant about money decisions; ends with a slow, safe first step and permission to wait on big choices.')
ON CONFLICT (key) DO NOTHING;

INSERT INTO training_topics (key, name, description) VALUES
    ('retirement', 'Retirement readiness', 'Savings rate, withdrawal rate, Social Security timing, pensions.'),
    ('debt_payoff', 'Debt payoff', 'Avalanche versus snowball, consolidation, negotiating rates, staying motivated.'),
    ('emergency_fund', 'Emergency fund', 'How much, where to keep it, building it on an irregular income.'),
    ('college_savings', 'College savings', '529 plans, balancing college savings against retirement and debt.'),
    ('windfall', 'Windfall management', 'Insurance payouts, inheritances and bonuses: parking the money, avoiding rushed decisions.')
ON CONFLICT (key) DO NOTHING;

INSERT INTO prompt_templates (name, body) VALUES
    ('default', $template$You are writing a training conversation for an emotionally intelligent financial-planning assistant.

Persona: {{persona}}
Persona details: {{persona_description}}
Emotional arc: {{emotional_arc}} ({{emotional_arc_description}})
Training topic: {{training_topic}} ({{training_topic_description}})
Variation: {{variation}} (make this conversation distinct from others with the same persona, arc and topic)

Write a realistic multi-turn conversation (6 to 10 turns, alternating user and assistant, starting with the user).
The assistant first acknowledges the feeling behind each message, then gives specific, accurate, plain-language guidance
with real numbers where they help. It never shames, never promises returns, and suggests a professional where the stakes require one.

Return only JSON of this shape:
{"conversation_metadata": {"persona": "...", "emotional_arc": "...", "training_topic": "...", "turn_count": N},
 "turns": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}$template$)
ON CONFLICT (name) DO NOTHING;
