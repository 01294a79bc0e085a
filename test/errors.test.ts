import { errorMessage } from '../src/errors.js'

describe('errorMessage', () => {
  it('returns the message of an Error', () => {
    expect(errorMessage(new TypeError('bad value'))).toBe('bad value')
  })

  it('stringifies a thrown non-Error', () => {
    expect(errorMessage(42)).toBe('42')
  })
})
