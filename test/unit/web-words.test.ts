import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.ts';
import { PRESETS } from '../../src/domain/policy.ts';
import { ERROR_SENTENCE_CODES, fieldLabel, presetName, PRESET_WORDS, problemSentence, statusWord, type ProblemLike } from '../../web/src/app/words.ts';

// The web app's words: every error code the API can answer with has a sentence for people
// (no identifiers, no minor units, no validator text), and every preset a plain name.

const problem = (code: string, extra: Record<string, unknown> = {}, errors: ProblemLike['errors'] = []): ProblemLike => ({
  status: code in ERROR_CODES ? ERROR_CODES[code as keyof typeof ERROR_CODES].status : 400, code, errors, extra,
});

describe('web app words', () => {
  it('has a sentence for every error code of the API, in words', () => {
    expect(Object.keys(ERROR_CODES).filter((c) => !ERROR_SENTENCE_CODES.includes(c as never))).toEqual([]);
    for (const code of Object.keys(ERROR_CODES)) {
      const text = problemSentence(problem(code));
      expect(text, code).toMatch(/^[A-Z].*[.!]$/);
      expect(text, code).not.toMatch(/_|\bnull\b|undefined|\[object/);
    }
  });

  it('formats amounts of a problem in its currency, never minor units', () => {
    expect(problemSentence(problem('amount_below_minimum', { minimum: 500, currency: 'USD' }))).toBe('The amount is below the minimum of $5.00.');
    expect(problemSentence(problem('amount_below_minimum', { minimum: 500 }), { currency: 'JPY' })).toBe('The amount is below the minimum of ¥500.');
    const over = problem('validation_failed', { inEscrow: 150000 }, [{ field: 'amount', message: 'must be at most 150000' }]);
    expect(problemSentence(over, { currency: 'EUR' })).toBe('Please check the form: the amount must fit the €1,500.00 held in escrow.');
    expect(problemSentence(over)).not.toContain('150000');
  });

  it('names fields and says what is wrong without the validator’s message', () => {
    const p = problem('validation_failed', {}, [
      { field: 'title', message: 'Too small: expected string to have >=1 characters', code: 'too_small' },
      { field: 'milestones[1].dueDate', message: 'Invalid ISO date', code: 'invalid_format' },
    ]);
    expect(problemSentence(p)).toBe('Please check the form: the title is missing or too small and the due date of milestone 2 is not a date.');
    expect(fieldLabel('counterpartyEmail')).toBe('the other party’s email');
    expect(problemSentence(problem('validation_failed', {}, [{ field: 'counterpartyEmail', message: 'is not the email of a user of this platform' }]))).toBe(
      'Please check the form: the other party’s email belongs to nobody on Tranche yet: ask them to sign up first, or check the spelling.',
    );
    expect(problemSentence(problem('network'))).toContain('cannot be reached');
    expect(problemSentence(problem('invalid_state', { state: 'in_progress' }))).toBe('This cannot be done while it is in progress. The page now shows its current state.');
  });

  it('names every preset in plain words, never by its identifier', () => {
    expect(Object.keys(PRESET_WORDS).sort()).toEqual(Object.keys(PRESETS).sort());
    for (const name of Object.keys(PRESETS)) {
      expect(presetName(name)).not.toContain('_');
      expect(PRESET_WORDS[name as keyof typeof PRESET_WORDS].explain.length).toBeGreaterThan(20);
    }
    expect(presetName('sequential_escrow')).toBe('Escrow, one milestone at a time');
    expect(presetName('company_managed')).toBe('Company approves and pays');
    expect(presetName('something_new')).toBe('Custom way of working');
    expect(statusWord('proposal')).toBe('Offer');
    expect(statusWord('approval_pending')).toBe('Approval pending');
  });
});
