import { describe, expect, it } from 'vitest';
import { operationIdFor } from '../../src/http/openapi.ts';

describe('operationIdFor', () => {
  it.each([
    ['GET', '/v1/contracts', 'listContracts'],
    ['POST', '/v1/contracts', 'createContract'],
    ['GET', '/v1/contracts/:id', 'getContract'],
    ['PATCH', '/v1/milestones/:id', 'updateMilestone'],
    ['DELETE', '/v1/milestones/:id', 'deleteMilestone'],
    ['POST', '/v1/milestones/:id/approve', 'approveMilestone'],
    ['GET', '/v1/contracts/:id/milestones', 'listContractMilestones'],
    ['POST', '/v1/contracts/:id/milestones', 'createContractMilestone'],
    ['PUT', '/v1/contracts/:id/milestone-order', 'setContractMilestoneOrder'],
    ['GET', '/v1/admin/ledger/check', 'getAdminLedgerCheck'],
    ['POST', '/v1/payments/pay', 'payPayments'],
    ['POST', '/v1/auth/login', 'loginAuth'],
    ['GET', '/v1/me', 'getMe'],
    ['GET', '/v1/contracts/:id/activity', 'listContractActivity'],
    ['POST', '/v1/refund-requests/:id/counter', 'counterRefundRequest'],
    ['GET', '/v1/contracts/:id/refund-requests', 'listContractRefundRequests'],
    ['POST', '/v1/files', 'createFile'],
    ['GET', '/v1/files/:id/content', 'getFileContent'],
  ])('%s %s → %s', (method, url, want) => {
    expect(operationIdFor(method, url)).toBe(want);
  });
});
